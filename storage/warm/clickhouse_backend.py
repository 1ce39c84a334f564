"""``ClickHouseWarehouse``: the one warm adapter, a clickhouse-connect client on either engine.

Embedded (the default): clickhouse-connect's in-process chDB interface on ``$MARKETOPS_HOME/warehouse``.
Server: the same client over HTTP (``MARKETOPS_CLICKHOUSE_URL``). Either way parameters are bound
server-side as ``{name:Type}``, Arrow tables are inserted with ``insert_arrow`` (dedup token in the
insert's settings) and results come back with ``query_arrow``: the code under test is the code in
production. What stays ours is the process lock of the embedded path, the database bootstrap and the
error vocabulary (:mod:`storage.warm.errors`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import clickhouse_connect
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.query import to_arrow

from core.errors import PermanentStorageError
from core.identifiers import check_sql_name
from storage.warm import chdb_lock
from storage.warm.base import Params, Warehouse
from storage.warm.errors import translate

# Arrow results carry strings as strings; set once per client so no query pays a per-call SET.
_CLIENT_SETTINGS: dict[str, Any] = {"output_format_arrow_string_as_string": 1}
# In cluster mode an insert into a Distributed table returns only once every shard has its rows, so
# "data first, manifest row last" holds and a retry's dedup token meets the first attempt's blocks.
_CLUSTER_SETTINGS: dict[str, Any] = {"distributed_foreground_insert": 1}
_INSERT = re.compile(r"^\s*INSERT\b", re.IGNORECASE)


def chdb_config_xml(backups_dir: Path) -> str:
    """The embedded engine's config: BACKUP/RESTORE may use ``File()`` under ``backups_dir`` only."""
    return (
        "<clickhouse>\n"
        f"  <backups><allowed_path>{backups_dir}</allowed_path></backups>\n"
        "  <logger><level>warning</level><console>0</console></logger>\n"
        "</clickhouse>\n"
    )


class ClickHouseWarehouse(Warehouse):
    """A warehouse over a clickhouse-connect ``Client``; safe to share between threads (the client
    serializes its own calls). Open it with :meth:`embedded` or :meth:`server`."""

    def __init__(
        self,
        client: Client,
        database: str,
        backend: str,
        cluster: str | None = None,
        lease: Path | None = None,
    ) -> None:
        self.client = client
        self.backend = backend
        self.cluster = check_sql_name(cluster) if cluster else None
        # chDB reads polars' current Arrow layout (string views) fastest; a server of any age reads the classic one
        self.arrow_compat = pl.CompatLevel.newest() if backend == "chdb" else pl.CompatLevel.oldest()
        self._lease = lease
        self._closed = False
        # Set by ``storage.warm.factory`` on embedded adapters: asked when a ``with`` block ends without an
        # exception; True means the adapter was kept for reuse (a kept block is running) and stays open.
        self.on_clean_exit: Callable[[], bool] | None = None
        self._low_cardinality: dict[str, frozenset[str]] = {}
        try:
            self.database = _bootstrap(client, database, self.cluster)
        except BaseException:
            self.close()
            raise

    @classmethod
    def embedded(
        cls, data_dir: Path, database: str, backups_dir: Path, lock_timeout_s: float = 30.0
    ) -> ClickHouseWarehouse:
        """clickhouse-connect's chDB interface on ``data_dir``, behind our cross-process lock."""
        data_dir = data_dir.resolve()
        check_sql_name(database)
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            backups_dir.mkdir(parents=True, exist_ok=True)
            chdb_lock.lease(data_dir, lock_timeout_s)
        except OSError as exc:
            raise PermanentStorageError(f"cannot open the embedded warehouse at {data_dir}: {exc}") from exc
        try:
            config = data_dir.parent / f".{data_dir.name}.config.xml"
            text = chdb_config_xml(backups_dir.resolve())
            if not config.is_file() or config.read_text() != text:
                config.write_text(text)
            client = clickhouse_connect.get_client(
                interface="chdb",
                path=str(data_dir),
                chdb_options={"config-file": str(config)},
                settings=_CLIENT_SETTINGS,
            )
        except BaseException as exc:
            chdb_lock.release(data_dir)
            if isinstance(exc, Exception):
                raise translate(exc, "opening the embedded warehouse") from exc
            raise
        return cls(client, database, "chdb", lease=data_dir)

    @classmethod
    def server(
        cls,
        url: str,
        database: str,
        user: str,
        password: str,
        connect_timeout_s: float = 10.0,
        cluster: str | None = None,
    ) -> ClickHouseWarehouse:
        """clickhouse-connect over HTTP; the password is never logged (errors name only host and port)."""
        settings = _CLIENT_SETTINGS | (_CLUSTER_SETTINGS if cluster else {})
        try:
            client = clickhouse_connect.get_client(
                dsn=url, username=user, password=password, connect_timeout=connect_timeout_s, settings=settings
            )
        except Exception as exc:
            raise translate(exc, f"connecting to ClickHouse at {url.split('@')[-1]}", connecting=True) from exc
        return cls(client, database, "clickhouse", cluster=cluster)

    @classmethod
    def from_settings(cls, settings: Any) -> ClickHouseWarehouse:
        if settings.clickhouse_url:
            return cls.server(
                settings.clickhouse_url,
                settings.clickhouse_database,
                settings.clickhouse_user,
                settings.clickhouse_password.get_secret_value(),
                settings.clickhouse_connect_timeout_s,
                settings.clickhouse_cluster,
            )
        return cls.embedded(
            settings.warehouse_dir, settings.clickhouse_database, settings.backups_dir, settings.chdb_lock_timeout_s
        )

    def execute(self, sql: str, params: Params | None = None) -> None:
        try:
            self.client.command(sql, parameters=dict(params) if params else None)
        except Exception as exc:
            raise translate(exc, "warehouse statement failed") from exc

    def query_arrow(self, sql: str, params: Params | None = None) -> pa.Table:
        """The result as Arrow; a statement without a result set (DDL, INSERT typed into ``marketops sql``)
        runs and gives an empty table, as it would in a ClickHouse client."""
        bound = dict(params) if params else None
        try:
            if _INSERT.match(sql):  # its data (VALUES …) runs to the end of the text: no FORMAT clause may follow
                self.client.command(sql, parameters=bound)
                return pa.table({})
            # what client.query_arrow does, minus decoding an empty body (a statement that returned nothing)
            body = self.client.raw_query(sql, parameters=bound, fmt="Arrow")
            return to_arrow(body) if body else pa.table({})
        except Exception as exc:
            raise translate(exc, "warehouse query failed") from exc

    def _insert(self, table: str, columns: list[str], data: pa.Table, settings: dict[str, str]) -> None:
        try:
            arrow = dictionary_encode(data.select(columns), self._low_cardinality_columns(table))
            self.client.insert_arrow(table, arrow, settings=settings)
        except Exception as exc:
            raise translate(exc, f"insert into {table} failed") from exc

    def _low_cardinality_columns(self, table: str) -> frozenset[str]:
        """The ``LowCardinality(String)`` columns of ``table``, looked up once per table and process.

        Only speed depends on it: a column added by a later migration is sent as plain strings until the
        next process, which the engine converts all the same."""
        if table not in self._low_cardinality:
            found = self.query_arrow(
                "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {table:String}"
                " AND type LIKE 'LowCardinality(%String)'",
                {"table": table},
            )
            self._low_cardinality[table] = frozenset(found.column(0).to_pylist() if found.num_columns else [])
        return self._low_cardinality[table]

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None and not self._closed and self.on_clean_exit is not None and self.on_clean_exit():
            return
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.client.close()
        finally:
            if self._lease is not None:
                chdb_lock.release(self._lease)


def dictionary_encode(table: pa.Table, names: frozenset[str]) -> pa.Table:
    """Send ``names``' string columns as Arrow dictionaries, one dictionary per column.

    A ``LowCardinality`` column (venue, price side, bar source) holds a handful of values per batch: as a
    dictionary the engine reads each distinct string once instead of once per row, which took the embedded
    insert of a 1M-row batch from ~1.5x the removed ``Python()`` insert's CPU time to ~1.1x (``bench/warm_insert.py``).
    The column is combined first because an Arrow IPC file allows one dictionary per field."""
    for name in names & set(table.column_names):
        column = table.column(name)
        if (
            pa.types.is_string(column.type)
            or pa.types.is_large_string(column.type)
            or pa.types.is_string_view(column.type)
        ):
            index = table.column_names.index(name)
            table = table.set_column(index, name, pc.dictionary_encode(column.combine_chunks()))
    return table


def _bootstrap(client: Client, database: str, cluster: str | None) -> str:
    """Create the database (on every host in cluster mode) and make it the client's default."""
    name = check_sql_name(database)
    on_cluster = f" ON CLUSTER {cluster}" if cluster else ""
    try:
        client.command(f"CREATE DATABASE IF NOT EXISTS {name}{on_cluster}")
        client.database = name
    except Exception as exc:
        raise translate(exc, f"creating database {name}", connecting=True) from exc
    return name
