"""Settings choose where the warm tier runs; every choice is the same clickhouse-connect adapter."""

from __future__ import annotations

from core.errors import ConfigError
from core.settings import Settings
from storage.warm.base import Warehouse


def open_warehouse(settings: Settings) -> Warehouse:
    """The configured warehouse, opened; use it in a ``with`` block so it is always closed.

    ``MARKETOPS_CLICKHOUSE_URL`` set: clickhouse-connect over HTTP (``ON CLUSTER`` layout when
    ``MARKETOPS_CLICKHOUSE_CLUSTER`` is set too). Otherwise clickhouse-connect's in-process chDB interface
    on ``$MARKETOPS_HOME/warehouse``.
    """
    # imported here: clickhouse-connect pulls in chDB (~0.2 s), which a status that reuses its snapshot never needs
    from storage.warm.clickhouse_backend import ClickHouseWarehouse

    if settings.clickhouse_cluster and not settings.clickhouse_url:
        raise ConfigError(
            "MARKETOPS_CLICKHOUSE_CLUSTER needs MARKETOPS_CLICKHOUSE_URL: the embedded warehouse is one node"
        )
    return ClickHouseWarehouse.from_settings(settings)
