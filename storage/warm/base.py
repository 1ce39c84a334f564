"""The warm-tier interface: a few verbs, the same ClickHouse SQL on every backend."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import TracebackType
from typing import Any, ClassVar

import polars as pl
import pyarrow as pa

from core.identifiers import check_partition_id, check_sql_name, check_token

Params = Mapping[str, Any]


class Warehouse(ABC):
    """Source of truth for bars, anomalies, manifests and run records.

    Parameters are bound with ClickHouse's ``{name:Type}`` placeholders on both backends; only
    identifiers checked by :mod:`core.identifiers` are ever spliced into SQL text.
    """

    backend: ClassVar[str]
    # How polars hands Arrow over: chDB reads polars' current layout ~2x faster; drivers that
    # predate it get the classic one.
    arrow_compat: ClassVar[pl.CompatLevel] = pl.CompatLevel.oldest()
    database: str

    @abstractmethod
    def execute(self, sql: str, params: Params | None = None) -> None:
        """Run a statement that returns nothing (DDL, OPTIMIZE, INSERT ... SELECT)."""

    @abstractmethod
    def query_arrow(self, sql: str, params: Params | None = None) -> pa.Table:
        """Run a query and return its result as an Arrow table."""

    @abstractmethod
    def _insert(self, table: str, columns: list[str], data: pa.Table, settings: dict[str, str]) -> None:
        """Backend-specific insert of an Arrow table whose columns are already in order."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection (and, embedded, the process lock)."""

    def insert_arrow(self, table: str, data: pa.Table, dedup_token: str | None = None) -> None:
        """Insert ``data`` into ``table``; a repeated ``dedup_token`` is dropped by the server.

        Deduplication needs ``non_replicated_deduplication_window`` > 0 on the table, which every
        marketops table that takes idempotent inserts sets in its DDL.
        """
        check_sql_name(table)
        columns = [check_sql_name(c) for c in data.column_names]
        if data.num_rows == 0:
            return
        settings = {"insert_deduplicate": "1"}
        if dedup_token:
            settings["insert_deduplication_token"] = check_token(dedup_token)
        self._insert(table, columns, data, settings)

    def insert_df(self, table: str, frame: pl.DataFrame, dedup_token: str | None = None) -> None:
        self.insert_arrow(table, frame.to_arrow(compat_level=self.arrow_compat), dedup_token)

    def query_df(self, sql: str, params: Params | None = None) -> pl.DataFrame:
        result = pl.from_arrow(self.query_arrow(sql, params))
        assert isinstance(result, pl.DataFrame)
        return result

    def query_df_readonly(self, sql: str) -> pl.DataFrame:
        """Run ad-hoc SQL with ClickHouse's ``readonly = 1``: the server refuses any write, DDL or setting change.

        The setting rides on the statement itself (``SETTINGS`` clause), so it holds on both backends and
        cannot leak into later statements of a shared session; a statement that takes no ``SETTINGS``
        clause fails to parse, which also writes nothing.
        """
        statement = sql.strip().rstrip(";").rstrip()
        return self.query_df(f"{statement}\nSETTINGS readonly = 1")

    def query_scalar(self, sql: str, params: Params | None = None) -> Any:
        table = self.query_arrow(sql, params)
        if table.num_rows == 0:
            return None
        return table.column(0)[0].as_py()

    def optimize(self, table: str, partition: str | None = None, final: bool = True) -> None:
        """``OPTIMIZE TABLE``; ``partition`` is a partition id such as ``202406``."""
        sql = f"OPTIMIZE TABLE {check_sql_name(table)}"
        if partition is not None:
            sql += " PARTITION ID {partition:String}"
        if final:
            sql += " FINAL"
        self.execute(sql, {"partition": partition} if partition is not None else None)

    def backup(self, tables: list[str], destination: str, base: str | None = None) -> None:
        """Native ``BACKUP`` of ``tables`` of this database; ``destination``/``base`` are BACKUP
        destination expressions built by a backup target (``File('...')``, ``Disk('...', '...')``)."""
        listing = ", ".join(f"TABLE {self.database}.{check_sql_name(t)}" for t in tables)
        sql = f"BACKUP {listing} TO {destination}"
        if base:
            sql += f" SETTINGS base_backup = {base}"
        self.execute(sql)

    def restore(
        self,
        tables: list[str],
        source: str,
        into_database: str,
        partitions: list[str] | None = None,
        allow_non_empty: bool = False,
    ) -> None:
        """Native ``RESTORE`` of ``tables`` (as backed up from this database) into ``into_database``."""
        into = check_sql_name(into_database)
        parts = ""
        if partitions:
            parts = " PARTITIONS " + ", ".join(f"'{check_partition_id(p)}'" for p in partitions)
        listing = ", ".join(
            f"TABLE {self.database}.{check_sql_name(t)} AS {into}.{check_sql_name(t)}{parts}" for t in tables
        )
        sql = f"RESTORE {listing} FROM {source}"
        if allow_non_empty:
            sql += " SETTINGS allow_non_empty_tables = true"
        self.execute(sql)

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
