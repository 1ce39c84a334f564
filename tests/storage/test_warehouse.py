"""The warm-tier interface: the same behaviour from every engine, through the one clickhouse-connect adapter."""

from __future__ import annotations

import importlib.util
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pyarrow as pa
import pytest
from clickhouse_connect.driver._chdbclient import ChdbClient
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError, ProgrammingError

from core.errors import PermanentStorageError, TransientStorageError
from core.settings import Settings
from storage.backups.factory import backup_target
from storage.warm import open_warehouse
from storage.warm.base import Warehouse
from storage.warm.clickhouse_backend import ClickHouseWarehouse, dictionary_encode
from storage.warm.errors import translate
from storage.warm.schema import MIGRATIONS, migrate, schema_version
from tests.warm_helpers import bars_frame


def _bars(
    n: int, start: datetime = datetime(2024, 6, 3, tzinfo=UTC), version: int = 1, close: float = 10.5
) -> pl.DataFrame:
    return bars_frame(
        {
            "venue": ["binance"] * n,
            "symbol": ["BTCUSDT"] * n,
            "ts": [start + timedelta(minutes=i) for i in range(n)],
            "open": [10.0] * n,
            "high": [11.0] * n,
            "low": [9.0] * n,
            "close": [close] * n,
            "volume": [1.0] * n,
            "trades": [3] * n,
            "quote_volume": [float("nan")] * n,
            "source_id": [1] * n,
            "version": [version] * n,
        }
    )


def test_migrations_are_idempotent_and_versioned(warehouse: Warehouse) -> None:
    assert [m.version for m in migrate(warehouse)] == [m.version for m in MIGRATIONS]
    assert migrate(warehouse) == []
    assert schema_version(warehouse) == MIGRATIONS[-1].version
    tables = set(warehouse.query_df("SELECT name FROM system.tables WHERE database = currentDatabase()")["name"])
    assert {"bars_1m", "ingest_files", "anomalies", "quarantine_bars", "runs", "backups", "schema_migrations"} <= tables


def test_insert_and_query_round_trip_keeps_types(warehouse: Warehouse) -> None:
    migrate(warehouse)
    warehouse.insert_df("bars_1m", _bars(5))
    back = warehouse.query_df("SELECT * FROM bars_1m ORDER BY ts")
    assert back.height == 5
    assert back["ts"][0] == datetime(2024, 6, 3, tzinfo=UTC)
    assert back["quote_volume"].is_nan().all()


def test_low_cardinality_columns_go_as_one_dictionary_and_read_back_unchanged(warehouse: Warehouse) -> None:
    """Chunks with different values (a concatenated batch) must not trip Arrow's one-dictionary-per-field rule."""
    migrate(warehouse)
    parts = [
        _bars(3).with_columns(pl.lit(venue).alias("venue"), pl.lit(f"SYM{i}").alias("symbol"))
        for i, venue in enumerate(["binance", "kraken", "lean"])
    ]
    frame = pl.concat(parts, rechunk=False)
    assert frame.n_chunks() == 3
    arrow = dictionary_encode(frame.to_arrow(), frozenset({"venue", "not_there"}))
    assert pa.types.is_dictionary(arrow.schema.field("venue").type)
    assert not pa.types.is_dictionary(arrow.schema.field("symbol").type)  # a plain String column stays plain
    warehouse.insert_df("bars_1m", frame)
    back = warehouse.query_df("SELECT venue, symbol, count() AS n FROM bars_1m GROUP BY venue, symbol ORDER BY symbol")
    assert back.rows() == [("binance", "SYM0", 3), ("kraken", "SYM1", 3), ("lean", "SYM2", 3)]


def test_a_write_refused_as_read_only_is_permanent_not_retried(warehouse: Warehouse) -> None:
    """Code 164 (READONLY) comes from ``readonly = 1``: retrying the statement three times cannot help."""
    migrate(warehouse)
    with pytest.raises(PermanentStorageError):
        warehouse.query_df_readonly("CREATE TABLE x (a UInt8) ENGINE = Memory")
    with pytest.raises(PermanentStorageError):
        warehouse.query_df_readonly("SELECT * FROM bars_1m; DROP TABLE bars_1m")
    assert warehouse.query_scalar("SELECT count() FROM system.tables WHERE name = 'x'") == 0
    assert not isinstance(translate(DatabaseError("Code: 164. DB::Exception: readonly"), "x"), TransientStorageError)


def test_a_repeated_dedup_token_is_dropped(warehouse: Warehouse) -> None:
    migrate(warehouse)
    token = "ab" * 32
    warehouse.insert_df("bars_1m", _bars(10), token)
    warehouse.insert_df("bars_1m", _bars(10, version=2), token)  # a rerun after a crash
    assert warehouse.query_scalar("SELECT count() FROM bars_1m") == 10
    warehouse.insert_df("bars_1m", _bars(10, version=3), "cd" * 32)
    assert warehouse.query_scalar("SELECT count() FROM bars_1m") == 20
    assert warehouse.query_scalar("SELECT count() FROM bars_1m FINAL") == 10


def test_final_keeps_the_newest_version_and_optimize_merges(warehouse: Warehouse) -> None:
    migrate(warehouse)
    warehouse.insert_df("bars_1m", _bars(3, version=1, close=10.1))
    warehouse.insert_df("bars_1m", _bars(3, version=2, close=10.2))
    assert warehouse.query_df("SELECT DISTINCT close FROM bars_1m FINAL")["close"].to_list() == [10.2]
    warehouse.optimize("bars_1m", "202406")
    parts = warehouse.query_scalar(
        "SELECT count() FROM system.parts WHERE database = currentDatabase() AND table = 'bars_1m' AND active"
    )
    assert parts == 1
    assert warehouse.query_scalar("SELECT count() FROM bars_1m") == 3


def test_keys_unique_skips_the_fold_on_insert_and_final_still_folds(warehouse: Warehouse) -> None:
    """``keys_unique`` reaches the engine: a block the caller wrongly called unique keeps both copies of a
    minute until FINAL (or a merge) folds them, where a default insert folds them on the way in."""
    migrate(warehouse)
    twice = pl.concat([_bars(3, version=1, close=10.1), _bars(3, version=2, close=10.2)])
    warehouse.insert_df("bars_1m", twice)
    assert warehouse.query_scalar("SELECT count() FROM bars_1m") == 3  # folded on insert
    warehouse.execute("TRUNCATE TABLE bars_1m")
    warehouse.insert_df("bars_1m", twice, keys_unique=True)
    assert warehouse.query_scalar("SELECT count() FROM bars_1m") == 6  # not folded on insert
    assert warehouse.query_df("SELECT DISTINCT close FROM bars_1m FINAL")["close"].to_list() == [10.2]
    warehouse.insert_df("bars_1m", _bars(3, version=3, close=10.3), keys_unique=True)
    assert warehouse.query_df("SELECT DISTINCT close FROM bars_1m FINAL")["close"].to_list() == [10.3]


def test_parameters_are_bound_not_spliced(warehouse: Warehouse) -> None:
    migrate(warehouse)
    warehouse.insert_df("bars_1m", _bars(4))
    sneaky = "BTCUSDT' OR 1=1 --"
    assert warehouse.query_scalar("SELECT count() FROM bars_1m WHERE symbol = {s:String}", {"s": sneaky}) == 0
    assert (
        warehouse.query_scalar(
            "SELECT count() FROM bars_1m WHERE symbol IN {s:Array(String)}", {"s": ["BTCUSDT", "it's"]}
        )
        == 4
    )
    since = datetime(2024, 6, 3, 0, 2, tzinfo=UTC)
    assert warehouse.query_scalar("SELECT count() FROM bars_1m WHERE ts >= {t:DateTime64(3, 'UTC')}", {"t": since}) == 2


def test_bad_sql_is_a_permanent_error(warehouse: Warehouse) -> None:
    with pytest.raises(PermanentStorageError):
        warehouse.query_df("SELECT * FROM no_such_table")


def test_the_warehouse_is_a_clickhouse_connect_client(warehouse: Warehouse) -> None:
    """The adapter every flow opens is clickhouse-connect's client, embedded or not; no bespoke adapter is left."""
    assert isinstance(warehouse, ClickHouseWarehouse)
    assert isinstance(warehouse.client, Client)
    if warehouse.backend == "chdb":
        assert isinstance(warehouse.client, ChdbClient)
    assert importlib.util.find_spec("storage.warm.chdb_backend") is None
    assert warehouse.query_scalar("SELECT currentDatabase()") == warehouse.database


def test_parameters_bind_server_side_with_their_types(warehouse: Warehouse) -> None:
    when = datetime(2024, 6, 3, 12, 30, 45, 123456, tzinfo=UTC)
    row = warehouse.query_df(
        "SELECT {s:String} AS s, {t:DateTime64(6, 'UTC')} AS t, {d:Date} AS d, {n:Nullable(String)} AS n, "
        "{b:Bool} AS b, {u:UInt64} AS u, {ids:Array(UInt64)} AS ids",
        {
            "s": "it's a \\ back'slash",
            "t": when,
            "d": date(2024, 6, 3),
            "n": None,
            "b": True,
            "u": 2**63,
            "ids": [1, 2],
        },
    ).row(0, named=True)
    assert row["s"] == "it's a \\ back'slash"
    assert row["t"] == when  # microseconds and the zone survive binding
    assert row["d"] == date(2024, 6, 3)
    assert row["n"] is None and row["b"] is True and row["u"] == 2**63 and row["ids"] == [1, 2]


def test_dedup_token_is_per_table_and_settings_do_not_leak(warehouse: Warehouse) -> None:
    migrate(warehouse)
    token = "ef" * 32
    warehouse.insert_df("bars_1m", _bars(2), token)
    warehouse.insert_df("bars_1m", _bars(2), token)
    assert warehouse.query_scalar("SELECT count() FROM bars_1m") == 2
    warehouse.insert_df("bars_1m", _bars(2, start=datetime(2024, 6, 4, tzinfo=UTC)))  # no token: inserted
    assert warehouse.query_scalar("SELECT count() FROM bars_1m") == 4
    assert warehouse.query_scalar("SELECT value FROM system.settings WHERE name = 'insert_deduplication_token'") == ""


def test_a_timeout_is_transient_and_a_type_error_permanent(warehouse: Warehouse) -> None:
    with pytest.raises(TransientStorageError, match="TIMEOUT_EXCEEDED"):
        warehouse.query_df("SELECT count() FROM system.numbers SETTINGS max_execution_time = 0.2")
    with pytest.raises(PermanentStorageError, match="Code: 60"):
        warehouse.execute("INSERT INTO no_such_table VALUES (1)")
    with pytest.raises(PermanentStorageError):
        warehouse.query_df("SELECT {x:UInt8}", {"x": "not a number"})


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (OperationalError("connection refused"), True),
        (DatabaseError("Code: 252. DB::Exception: Too many parts", code=252), True),
        (DatabaseError("Code: 60. DB::Exception: Unknown table", code=60), False),
        (DatabaseError("Code: 241. DB::Exception: Memory limit (from the message only)"), True),
        (ProgrammingError("bad call"), False),
    ],
)
def test_clickhouse_connect_errors_translate(exc: Exception, transient: bool) -> None:
    assert isinstance(translate(exc, "x"), TransientStorageError if transient else PermanentStorageError)


def test_backup_restore_and_maintenance_verbs_run_on_the_client(warehouse: Warehouse, settings: Settings) -> None:
    if warehouse.backend != "chdb":
        pytest.skip("File() backups are the embedded target; a server uses its backup disk (tests/test_maintenance.py)")
    migrate(warehouse)
    warehouse.insert_df("bars_1m", _bars(5))
    warehouse.insert_df("bars_1m", _bars(5, version=2))
    target = backup_target(settings)
    warehouse.backup(["bars_1m"], target.expression("b1"))
    assert target.is_complete("b1")
    warehouse.create_database("scratch")
    warehouse.restore(["bars_1m"], target.expression("b1"), "scratch")
    assert warehouse.query_scalar("SELECT count() FROM scratch.bars_1m") == 10
    warehouse.delete("bars_1m", "version = {v:UInt64}", {"v": 1})
    assert warehouse.query_scalar("SELECT count() FROM bars_1m") == 5
    warehouse.exchange("bars_1m", "scratch")  # the restored copy is now in place, the trimmed one aside
    assert warehouse.query_scalar("SELECT count() FROM bars_1m") == 10
    assert warehouse.query_scalar("SELECT count() FROM scratch.bars_1m") == 5
    warehouse.drop_database("scratch")
    assert warehouse.query_scalar("SELECT count() FROM system.databases WHERE name = 'scratch'") == 0


def test_threads_with_their_own_adapters_insert_at_once(warehouse: Warehouse, settings: Settings) -> None:
    """Ingest runs batches on threads, each opening the warehouse: every insert lands, once."""
    migrate(warehouse)
    if warehouse.backend == "clickhouse":
        settings = settings.model_copy(update={"clickhouse_url": os.environ["MARKETOPS_CLICKHOUSE_URL"]})

    def load(day: int) -> None:
        with open_warehouse(settings) as own:
            own.insert_df("bars_1m", _bars(100, start=datetime(2024, 6, 1 + day, tzinfo=UTC)), f"{day:02x}" * 32)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(load, [*range(8), *range(8)]))  # every batch twice: the repeats are dropped by their tokens
    assert warehouse.query_scalar("SELECT count() FROM bars_1m") == 800
