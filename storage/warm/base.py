"""The warm-tier interface: a few verbs, the same ClickHouse SQL on every backend."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import polars as pl
import pyarrow as pa

from core.identifiers import check_partition_id, check_sql_name, check_token
from storage.warm.cluster import backup_statement, local_name, on_cluster, optimize_statement, restore_statements

Params = Mapping[str, Any]


class Warehouse(ABC):
    """Source of truth for bars, anomalies, manifests and run records.

    Parameters are bound with ClickHouse's ``{name:Type}`` placeholders on both backends; only
    identifiers checked by :mod:`core.identifiers` are ever spliced into SQL text.
    """

    backend: str  # "chdb" (embedded) or "clickhouse" (server)
    # How polars hands Arrow over: chDB reads polars' current layout faster; servers get the classic one.
    arrow_compat: pl.CompatLevel = pl.CompatLevel.oldest()
    database: str
    # Cluster name in cluster mode (``storage.warm.cluster``): data in ``<t>_local``, ``t`` is Distributed.
    cluster: str | None = None

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

    def insert_arrow(
        self, table: str, data: pa.Table, dedup_token: str | None = None, keys_unique: bool = False
    ) -> None:
        """Insert ``data`` into ``table``; a repeated ``dedup_token`` is dropped by the server.

        Deduplication needs ``non_replicated_deduplication_window`` > 0 on the table, which every
        marketops table that takes idempotent inserts sets in its DDL.

        ``keys_unique``: the caller guarantees that no two rows of ``data`` share the table's sorting key
        (an ingest batch after its gate and overlap resolution). The engine then skips folding the block as
        a merge would (``optimize_on_insert = 0``): with unique keys that pass finds nothing, yet it cost
        ~30% of the embedded insert's CPU on ``bars_1m`` (``bench/warm_insert.py``). Rows that do share a key
        stay apart until a merge or ``FINAL`` folds them (readers see the same either way, raw counts do
        not), so pass it only when the guarantee holds.
        """
        check_sql_name(table)
        columns = [check_sql_name(c) for c in data.column_names]
        if data.num_rows == 0:
            return
        # One source file may span years of minutes (or a hostile one, centuries of quarantined rows): an
        # insert touching more than ClickHouse's default 100 monthly partitions must not fail its batch forever.
        settings = {"insert_deduplicate": "1", "max_partitions_per_insert_block": "0"}
        if dedup_token:
            settings["insert_deduplication_token"] = check_token(dedup_token)
        if keys_unique:
            settings["optimize_on_insert"] = "0"
        self._insert(table, columns, data, settings)

    def insert_df(
        self, table: str, frame: pl.DataFrame, dedup_token: str | None = None, keys_unique: bool = False
    ) -> None:
        """:meth:`insert_arrow` of a polars frame."""
        self.insert_arrow(table, frame.to_arrow(compat_level=self.arrow_compat), dedup_token, keys_unique)

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
        """``OPTIMIZE TABLE``; ``partition`` is a partition id such as ``202406``. On a cluster it merges
        ``<table>_local`` on every shard."""
        sql = optimize_statement(table, self.cluster, partition is not None, final)
        self.execute(sql, {"partition": check_partition_id(partition)} if partition is not None else None)

    def delete(self, table: str, where: str, params: Params | None = None) -> None:
        """Lightweight ``DELETE FROM table WHERE …`` (``where`` binds values as ``{name:Type}``); on a
        cluster it deletes from ``<table>_local`` on every shard (a Distributed table takes no DELETE)."""
        self.execute(f"DELETE FROM {local_name(table, self.cluster)}{on_cluster(self.cluster)} WHERE {where}", params)

    def create_database(self, name: str) -> None:
        """``CREATE DATABASE IF NOT EXISTS`` (on every host of a cluster)."""
        self.execute(f"CREATE DATABASE IF NOT EXISTS {check_sql_name(name)}{on_cluster(self.cluster)}")

    def drop_database(self, name: str) -> None:
        """``DROP DATABASE IF EXISTS`` (on every host of a cluster)."""
        sync = " SYNC" if self.cluster else ""
        self.execute(f"DROP DATABASE IF EXISTS {check_sql_name(name)}{on_cluster(self.cluster)}{sync}")

    def exchange(self, table: str, other_database: str) -> None:
        """Swap ``table`` of this database with the one in ``other_database`` atomically (per host)."""
        local = local_name(table, self.cluster)
        self.execute(
            f"EXCHANGE TABLES {self.database}.{local} AND {check_sql_name(other_database)}.{local}"
            f"{on_cluster(self.cluster)}"
        )

    def backup(self, tables: list[str], destination: str, base: str | None = None) -> None:
        """Native ``BACKUP`` of ``tables`` of this database; ``destination``/``base`` are BACKUP
        destination expressions built by a backup target (``File('...')``, ``Disk('...', '...')``).
        On a cluster every shard backs up its ``<table>_local`` (``BACKUP … ON CLUSTER``)."""
        self.execute(backup_statement(self.database, tables, self.cluster, destination, base))

    def restore(
        self,
        tables: list[str],
        source: str,
        into_database: str,
        partitions: list[str] | None = None,
        allow_non_empty: bool = False,
    ) -> None:
        """Native ``RESTORE`` of ``tables`` (as backed up from this database) into ``into_database``.
        On a cluster every shard restores its ``<table>_local`` and ``into_database`` gets read-only
        Distributed fronts named like the tables, so readers address the restore as they do the original."""
        for sql in restore_statements(
            self.database, tables, self.cluster, source, into_database, partitions, allow_non_empty
        ):
            self.execute(sql)

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
