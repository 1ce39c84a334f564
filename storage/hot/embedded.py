"""``EmbeddedHotStore``: the hot-store API on one SQLite file, for a machine without Hazelcast.

SQLite gives what the warmup needs from the real cluster: atomic multi-key writes, safe
concurrent readers from other processes, and durability across restarts of this one.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from core.errors import StorageError
from core.settings import Settings
from storage.file_lock import lock_within, unlock
from storage.hot.base import HotStore


class EmbeddedHotStore(HotStore):
    backend: ClassVar[str] = "embedded"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        self._guard = threading.Lock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS entries "
            "(map TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (map, key)) WITHOUT ROWID"
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbeddedHotStore:
        return cls(settings.hot_path)

    def get(self, map_name: str, key: str) -> str | None:
        with self._guard:
            row = self._conn.execute("SELECT value FROM entries WHERE map = ? AND key = ?", (map_name, key)).fetchone()
        return row[0] if row else None

    def set(self, map_name: str, key: str, value: str) -> None:
        self.put_all(map_name, {key: value})

    def put_all(self, map_name: str, entries: Mapping[str, str]) -> None:
        with self._guard:
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(
                    "INSERT INTO entries (map, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (map, key) DO UPDATE SET value = excluded.value",
                    ((map_name, k, v) for k, v in entries.items()),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def get_all(self, map_name: str, keys: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        with self._guard:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT key, value FROM entries WHERE map = ? AND key IN ({marks})", (map_name, *chunk)
                )
                out.update(rows.fetchall())
        return out

    def size(self, map_name: str) -> int:
        with self._guard:
            return int(self._conn.execute("SELECT count(*) FROM entries WHERE map = ?", (map_name,)).fetchone()[0])

    def keys(self, map_name: str) -> list[str]:
        with self._guard:
            return [r[0] for r in self._conn.execute("SELECT key FROM entries WHERE map = ? ORDER BY key", (map_name,))]

    def destroy(self, map_name: str) -> None:
        with self._guard:
            self._conn.execute("DELETE FROM entries WHERE map = ?", (map_name,))

    def map_names(self) -> list[str]:
        with self._guard:
            return [r[0] for r in self._conn.execute("SELECT DISTINCT map FROM entries ORDER BY map")]

    @contextmanager
    def lock(self, name: str, timeout_s: float) -> Iterator[None]:
        """An flock on a file beside the store: exclusive across processes of this host."""
        path = self._path.parent / f".lock-{name}"
        with open(path, "a") as handle:
            if not lock_within(handle, timeout_s):
                raise StorageError(f"hot-store lock {name!r} is held elsewhere; waited {timeout_s:g}s")
            try:
                yield
            finally:
                unlock(handle)

    def close(self) -> None:
        with self._guard:
            self._conn.close()
