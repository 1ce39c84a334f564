"""Settings choose the warm backend; nothing else branches on it."""

from __future__ import annotations

from core.settings import Settings
from storage.warm.base import Warehouse


def open_warehouse(settings: Settings) -> Warehouse:
    """The configured warehouse, opened; use it in a ``with`` block so it is always closed."""
    if settings.clickhouse_url:
        from storage.warm.clickhouse_backend import ClickHouseWarehouse

        return ClickHouseWarehouse.from_settings(settings)
    from storage.warm.chdb_backend import ChdbWarehouse

    return ChdbWarehouse.from_settings(settings)
