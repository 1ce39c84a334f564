"""Deterministic ids from small pure helpers, so a rerun computes the same keys."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source_id(path: str, sha256: str) -> int:
    """UInt64 id of one version of one source file (path + content)."""
    digest = hashlib.sha256(f"{path}\0{sha256}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def batch_token(members: Iterable[tuple[str, str]], purpose: str) -> str:
    """Insert dedup token of a batch: the same files give the same token on every rerun."""
    h = hashlib.sha256(purpose.encode())
    for path, sha in sorted(members):
        h.update(b"\0")
        h.update(path.encode())
        h.update(b"\0")
        h.update(sha.encode())
    return h.hexdigest()


# Precedence of a file version when two files hold the same minute with different values
# (ReplacingMergeTree keeps the greatest ``version``). Bit 62 set: every precedence version beats
# the ingest-time versions written before it existed.
_PRECEDENCE_BASE = 1 << 62
_SIZE_BITS = 38  # sizes up to 256 GiB compare exactly; larger ones tie at the cap
_PATH_BITS = 16
_GENERATION_BITS = 8


def file_version(path: str, size: int, generation: int = 0) -> int:
    """``bars_1m.version`` of every bar of one file version: the larger file wins, then the path hash.

    A pure function of the file (never of when or in which run it was ingested), so an overlap in
    one run resolves exactly like an overlap across runs, and a replay cannot change the winner.
    The larger file is the fuller delivery (a monthly archive over the daily files of its days).
    ``generation`` (low bits) only separates a reprocessed load of the same file version from its
    earlier load; it never reorders two different files.
    """
    size_part = min(max(size, 0), (1 << _SIZE_BITS) - 1)
    path_part = int.from_bytes(hashlib.sha256(path.encode()).digest()[:2], "big")
    return (
        _PRECEDENCE_BASE
        | size_part << (_PATH_BITS + _GENERATION_BITS)
        | path_part << _GENERATION_BITS
        | (generation % (1 << _GENERATION_BITS))
    )


def generation_of(version: int) -> int:
    return version & ((1 << _GENERATION_BITS) - 1)
