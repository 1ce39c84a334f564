"""Settings choose where the warm tier runs; every choice is the same clickhouse-connect adapter."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from core.errors import ConfigError
from core.settings import Settings
from storage.warm.base import Warehouse

_log = logging.getLogger(__name__)


def open_warehouse(settings: Settings) -> Warehouse:
    """The configured warehouse, opened; use it in a ``with`` block so it is always closed.

    ``MARKETOPS_CLICKHOUSE_URL`` set: clickhouse-connect over HTTP (``ON CLUSTER`` layout when
    ``MARKETOPS_CLICKHOUSE_CLUSTER`` is set too). Otherwise clickhouse-connect's in-process chDB interface
    on ``$MARKETOPS_HOME/warehouse``. Inside :func:`engine_kept` the embedded engine stays up between adapters.
    """
    # imported here: clickhouse-connect pulls in chDB (~0.2 s), which a status that reuses its snapshot never needs
    from storage.warm.clickhouse_backend import ClickHouseWarehouse

    if settings.clickhouse_cluster and not settings.clickhouse_url:
        raise ConfigError(
            "MARKETOPS_CLICKHOUSE_CLUSTER needs MARKETOPS_CLICKHOUSE_URL: the embedded warehouse is one node"
        )
    warehouse = ClickHouseWarehouse.from_settings(settings)
    _KEEPER.opened(settings, warehouse.backend)
    return warehouse


class _EngineKeeper:
    """One spare adapter that keeps the embedded engine (and this process's lock on it) up while a run wants it.

    chDB shuts its engine down when the last adapter of the process closes, and the next open starts it again
    and reloads every part's metadata (~0.1-0.3 s, plus the shutdown's own wait): a flow whose tasks each open
    and close the warehouse paid that once per task. The spare is taken right after the first adapter of a
    kept block opened *inside a task*, so opening still fails (and is retried) where it always did; it is
    closed when the last kept block ends. Process-wide, like the engine and the lock it stands for."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._wanted = 0
        self._spare: Warehouse | None = None

    def want(self) -> None:
        with self._guard:
            self._wanted += 1

    def opened(self, settings: Settings, backend: str) -> None:
        """An adapter just opened: take the spare now if a kept block wants one and none is held."""
        if backend != "chdb" or self._spare is not None or not self._wanted:
            return
        from storage.warm.clickhouse_backend import ClickHouseWarehouse

        with self._guard:
            if self._spare is None and self._wanted:
                try:  # the engine is up (an adapter is open), so this is a second handle on it: ~10 ms
                    self._spare = ClickHouseWarehouse.from_settings(settings)
                except Exception as exc:  # only speed depends on the spare: the opened adapter works without it
                    _log.warning("could not keep the embedded warehouse open between tasks: %s", exc)

    def release(self) -> None:
        with self._guard:
            self._wanted -= 1
            spare = self._spare if self._wanted <= 0 else None
            if spare is not None:
                self._spare = None
        if spare is not None:
            spare.close()

    @property
    def holding(self) -> bool:
        return self._spare is not None


_KEEPER = _EngineKeeper()


@contextmanager
def engine_kept() -> Iterator[None]:
    """Keep the embedded engine up from the first warehouse opened in this block to the block's end.

    A no-op against a ClickHouse server (an HTTP client costs nothing to reopen). While it holds, other
    processes wait for the warehouse as they would during a task that has it open."""
    _KEEPER.want()
    try:
        yield
    finally:
        _KEEPER.release()


def engine_held() -> bool:
    """True while a kept block holds the embedded engine open (tests and diagnostics)."""
    return _KEEPER.holding
