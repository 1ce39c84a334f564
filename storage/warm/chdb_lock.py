"""The embedded warehouse's cross-process lock.

chDB lets one process open a data path, and a second one fails with an opaque
"Error initializing EmbeddedServer". We take an exclusive ``flock`` first: a second process waits a
bounded time, then fails with a message naming the holder. The kernel drops the lock when the
holder dies, so a crash never leaves a stale lock behind. Within a process, adapters on the same
path share one lease; the last to close releases the lock.
"""

from __future__ import annotations

import json
import os
import sys
import threading
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


class _Lease:
    def __init__(self, lock: ProcessLock) -> None:
        self.lock = lock
        self.users = 0


# flock belongs to an open file, so a second ProcessLock on the same path in this process would wait
# for the first: the process takes it once per data path and counts the adapters using it. chDB hosts
# one engine per process, so a second path is refused while the first is in use.
_LEASES: dict[Path, _Lease] = {}
_LEASES_GUARD = threading.Lock()


def lease(data_dir: Path, timeout_s: float) -> None:
    """Hold the process lock of ``data_dir`` for one more adapter (taking it for the first)."""
    with _LEASES_GUARD:
        other = next((p for p in _LEASES if p != data_dir), None)
        if other is not None:
            raise WarehouseLockedError(
                f"this process already has the embedded warehouse {other} open; chDB serves one data path per process"
            )
        held = _LEASES.get(data_dir)
        if held is None:
            lock = ProcessLock(data_dir.parent / f".{data_dir.name}.lock")
            lock.acquire(timeout_s)
            held = _LEASES[data_dir] = _Lease(lock)
        held.users += 1


def release(data_dir: Path) -> None:
    """One adapter fewer on ``data_dir``; the last one lets other processes in."""
    with _LEASES_GUARD:
        held = _LEASES.get(data_dir)
        if held is None:
            return
        held.users -= 1
        if held.users <= 0:
            held.lock.release()
            del _LEASES[data_dir]
