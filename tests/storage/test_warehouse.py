"""The warm-tier interface: the same behaviour from every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from core.errors import PermanentStorageError
from storage.warm.base import Warehouse
from storage.warm.schema import MIGRATIONS, migrate, schema_version
from validation.contracts import BARS_COLUMNS


def _bars(
    n: int, start: datetime = datetime(2024, 6, 3, tzinfo=UTC), version: int = 1, close: float = 10.5
) -> pl.DataFrame:
    return pl.DataFrame(
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
        },
        schema_overrides={
            "ts": pl.Datetime("ms", "UTC"),
            "trades": pl.UInt32,
            "source_id": pl.UInt64,
            "version": pl.UInt64,
        },
    ).select(BARS_COLUMNS)


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
