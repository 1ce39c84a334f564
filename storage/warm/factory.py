"""Settings choose where the warm tier runs; every choice is the same clickhouse-connect adapter."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from core.errors import ConfigError
from core.settings import Settings
from storage.warm.base import Warehouse

if TYPE_CHECKING:
    from storage.warm.clickhouse_backend import ClickHouseWarehouse


def open_warehouse(settings: Settings) -> Warehouse:
    """The configured warehouse, opened; use it in a ``with`` block so it is always closed.

    ``MARKETOPS_CLICKHOUSE_URL`` set: clickhouse-connect over HTTP (``ON CLUSTER`` layout when
    ``MARKETOPS_CLICKHOUSE_CLUSTER`` is set too). Otherwise clickhouse-connect's in-process chDB interface
    on ``$MARKETOPS_HOME/warehouse``; inside :func:`engine_kept` its adapters are reused (see there).
    """
    # imported here: clickhouse-connect pulls in chDB (~0.2 s), which a status that reuses its snapshot never needs
    from storage.warm.clickhouse_backend import ClickHouseWarehouse

    if settings.clickhouse_cluster and not settings.clickhouse_url:
        raise ConfigError(
            "MARKETOPS_CLICKHOUSE_CLUSTER needs MARKETOPS_CLICKHOUSE_URL: the embedded warehouse is one node"
        )
    if settings.clickhouse_url:
        return ClickHouseWarehouse.from_settings(settings)
    return _POOL.take(settings) or _POOL.lend(ClickHouseWarehouse.from_settings(settings), settings)


def _key(settings: Settings) -> tuple[str, str]:
    return str(settings.warehouse_dir.resolve()), settings.clickhouse_database


class _EmbeddedPool:
    """Embedded adapters that a kept block reuses instead of closing.

    chDB shuts its engine down when the last adapter of the process closes, and the next open starts it again
    and reloads every part's metadata (~0.1-0.3 s, plus the shutdown's own wait); every new adapter also reads
    the engine's settings and, per table, its column types (~30-80 ms). A flow whose tasks each open and close
    the warehouse paid all of that once per task. Inside a kept block an adapter that leaves its ``with`` block
    cleanly waits here for the next task instead of closing, so the engine stays up and its handle is reused;
    each task still opens "its" warehouse (an open that fails, fails in the task and is retried there), and
    tasks running at once still get a handle each (the engine runs their statements side by side). An adapter
    left by an exception is closed, not reused. Process-wide, like the engine and the lock it stands for."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._wanted = 0
        self._idle: list[tuple[tuple[str, str], ClickHouseWarehouse]] = []

    def want(self) -> None:
        with self._guard:
            self._wanted += 1

    def take(self, settings: Settings) -> ClickHouseWarehouse | None:
        """An idle adapter on the same data path and database, if a kept block left one."""
        key = _key(settings)
        with self._guard:
            for index, (idle_key, adapter) in enumerate(self._idle):
                if idle_key == key:
                    del self._idle[index]
                    return adapter
        return None

    def lend(self, adapter: ClickHouseWarehouse, settings: Settings) -> ClickHouseWarehouse:
        """``adapter``, set to come back here when its ``with`` block ends cleanly inside a kept block."""
        key = _key(settings)
        adapter.on_clean_exit = lambda: self._give_back(key, adapter)
        return adapter

    def _give_back(self, key: tuple[str, str], adapter: ClickHouseWarehouse) -> bool:
        with self._guard:
            if self._wanted <= 0:
                return False  # no kept block: the adapter closes as usual
            self._idle.append((key, adapter))
            return True

    def release(self) -> None:
        with self._guard:
            self._wanted -= 1
            closing = [adapter for _, adapter in self._idle] if self._wanted <= 0 else []
            if closing:
                self._idle.clear()
        for adapter in closing:
            adapter.close()

    def idle(self) -> int:
        with self._guard:
            return len(self._idle)


_POOL = _EmbeddedPool()


@contextmanager
def engine_kept() -> Iterator[None]:
    """Reuse embedded warehouse adapters (and so keep the engine up) from here to the block's end.

    A no-op against a ClickHouse server (an HTTP client costs little to reopen). While an adapter waits here,
    this process holds the warehouse lock, as it does while a task has the warehouse open: another process
    waits for the block to end (``MARKETOPS_CHDB_LOCK_TIMEOUT_S``)."""
    _POOL.want()
    try:
        yield
    finally:
        _POOL.release()


def idle_adapters() -> int:
    """How many embedded adapters wait for reuse (none outside a kept block): for tests and diagnostics."""
    return _POOL.idle()
