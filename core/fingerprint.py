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


_SIZE_BITS = 47  # sizes up to 128 TiB compare exactly
_PATH_BITS = 16


def file_precedence(path: str, size: int) -> int:
    """Which file's bar the store keeps when two files hold the same minute: the greater precedence.

    A pure function of the file version (never of when or in which run it was ingested), so an overlap
    in one run resolves exactly like an overlap across runs, and a replay cannot change the winner. The
    larger file wins — it is the fuller delivery (a monthly archive over the daily files of its days) —
    and equal sizes are ordered by a hash of the path.
    """
    size_part = min(max(size, 0), (1 << _SIZE_BITS) - 1)
    path_part = int.from_bytes(hashlib.sha256(path.encode()).digest()[:2], "big")
    return size_part << _PATH_BITS | path_part
