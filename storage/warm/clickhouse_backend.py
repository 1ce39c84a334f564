"""``ClickHouseWarehouse``: the same SQL against a ClickHouse server via clickhouse-connect."""

from __future__ import annotations

from typing import Any, ClassVar

import pyarrow as pa

from core.identifiers import check_sql_name
from storage.warm.base import Params, Warehouse
from storage.warm.errors import translate


class ClickHouseWarehouse(Warehouse):
    """Server-backed warehouse. The password comes from settings (env or secret) and is never logged."""

    backend: ClassVar[str] = "clickhouse"

    def __init__(self, url: str, database: str, user: str, password: str, connect_timeout_s: float = 10.0) -> None:
        import clickhouse_connect

        self.database = check_sql_name(database)
        try:
            bootstrap = clickhouse_connect.get_client(
                dsn=url, username=user, password=password, connect_timeout=connect_timeout_s
            )
            bootstrap.command(f"CREATE DATABASE IF NOT EXISTS {self.database}")
            bootstrap.close()
            self._client = clickhouse_connect.get_client(
                dsn=url, username=user, password=password, database=self.database, connect_timeout=connect_timeout_s
            )
        except Exception as exc:
            raise translate(exc, f"connecting to ClickHouse at {url.split('@')[-1]}", connecting=True) from exc

    @classmethod
    def from_settings(cls, settings: Any) -> ClickHouseWarehouse:
        return cls(
            settings.clickhouse_url,
            settings.clickhouse_database,
            settings.clickhouse_user,
            settings.clickhouse_password.get_secret_value(),
            settings.clickhouse_connect_timeout_s,
        )

    def execute(self, sql: str, params: Params | None = None) -> None:
        try:
            self._client.command(sql, parameters=dict(params) if params else None)
        except Exception as exc:
            raise translate(exc, "warehouse statement failed") from exc

    def query_arrow(self, sql: str, params: Params | None = None) -> pa.Table:
        try:
            return self._client.query_arrow(sql, parameters=dict(params) if params else None, use_strings=True)
        except Exception as exc:
            raise translate(exc, "warehouse query failed") from exc

    def _insert(self, table: str, columns: list[str], data: pa.Table, settings: dict[str, str]) -> None:
        try:
            self._client.insert_arrow(table, data.select(columns), settings=settings)
        except Exception as exc:
            raise translate(exc, f"insert into {table} failed") from exc

    def close(self) -> None:
        self._client.close()
