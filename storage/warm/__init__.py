"""The warm tier: ClickHouse SQL over chDB (embedded) or a server (clickhouse-connect)."""

from storage.warm.base import Warehouse
from storage.warm.factory import open_warehouse

__all__ = ["Warehouse", "open_warehouse"]
