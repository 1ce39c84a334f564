"""The embedded warehouse's cross-process lock.

chDB lets one process open a data path, and a second one fails with an opaque
"Error initializing EmbeddedServer". We take an exclusive ``flock`` first: a second process waits a
bounded time, then fails with a message naming the holder. The kernel drops the lock when the
holder dies, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from core.errors import WarehouseLockedError
from storage.file_lock import lock_within, unlock


class ProcessLock:
    """An exclusive advisory lock on ``path`` with the holder's pid and command written inside."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, timeout_s: float) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not lock_within(fd, timeout_s):
            os.close(fd)
            raise WarehouseLockedError(
                f"the embedded warehouse at {self.path.parent} is in use by {self.holder()}; "
                f"waited {timeout_s:g}s. Wait for that process to finish, stop it, or use another MARKETOPS_HOME."
            )
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "cmd": " ".join(sys.argv)[:300], "since": time.time()}).encode())
        os.fsync(fd)
        self._fd = fd

    def holder(self) -> str:
        try:
            info = json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return "another process"
        return f"pid {info.get('pid', '?')} ({info.get('cmd', '?')})"

    def release(self) -> None:
        if self._fd is not None:
            unlock(self._fd)
            os.close(self._fd)
            self._fd = None
