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
