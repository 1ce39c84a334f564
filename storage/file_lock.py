"""Exclusive advisory locks on files, waited for a bounded time (the kernel drops them when a holder dies)."""

from __future__ import annotations

import fcntl
import time
from typing import IO

_POLL_S = 0.1


def lock_within(handle: int | IO[str], timeout_s: float) -> bool:
    """Take an exclusive ``flock`` on ``handle``, polling until ``timeout_s``; False when it stayed held."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_S)


def unlock(handle: int | IO[str]) -> None:
    fcntl.flock(handle, fcntl.LOCK_UN)
