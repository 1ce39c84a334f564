"""The warm tier: ClickHouse SQL through clickhouse-connect, on its in-process chDB interface or a server."""

from storage.warm.base import Warehouse
from storage.warm.factory import open_warehouse

__all__ = ["Warehouse", "open_warehouse"]
