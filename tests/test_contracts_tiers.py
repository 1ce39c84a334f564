"""Contracts at the cache, hot-tier and backup-catalog boundaries: real outputs pass, broken ones are reported
with every failure at once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from core.cache_plan import Output, affected, build_outputs
from core.errors import ContractViolation
from core.hot_layout import latest_values
from validation.contracts import enforce
from validation.contracts_tiers import (
    BackupCatalog,
    CacheInputBars,
    ColdResampled,
    HotPayload,
    check_outputs,
    cold_output_contract,
)

T0 = datetime(2024, 6, 3, tzinfo=UTC)


def _bars(n: int = 3 * 1440) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "venue": "binance",
            "symbol": "BTCUSDT",
            "ts": [T0 + timedelta(minutes=i) for i in range(n)],
            "open": [100.0 + (i % 9) * 0.1 for i in range(n)],
            "high": [101.0 + (i % 9) * 0.1 for i in range(n)],
            "low": [99.0 for _ in range(n)],
            "close": [100.0 + (i % 4) * 0.1 for i in range(n)],
            "volume": [float(i % 13) for i in range(n)],
            "trades": [i % 5 for i in range(n)],
            "quote_volume": float("nan"),
        },
        schema_overrides={"ts": pl.Datetime("ms", "UTC"), "trades": pl.UInt32},
    )


def test_every_cold_output_of_a_build_meets_its_contract() -> None:
    bars = enforce(CacheInputBars, _bars())
    days = [date(2024, 6, 3), date(2024, 6, 4), date(2024, 6, 5)]
    outputs = build_outputs(bars, affected(days, days), "crypto", T0 + timedelta(days=10))
    assert {o.dataset for o in outputs} == {
        "bars_1m",
        "bars_5m",
        "bars_15m",
        "bars_1h",
        "bars_4h",
        "bars_1d",
        "features_1m",
    }
    for output in outputs:
        enforce(cold_output_contract(output.dataset), output.frame)
    check_outputs(outputs)  # what the build task runs: one check per dataset
    broken = [
        Output(o.dataset, o.period, o.frame.with_columns(pl.col("low") * 2)) if o.dataset == "bars_1h" else o
        for o in outputs
    ]
    with pytest.raises(ContractViolation, match=r"ColdResampled.*ohlc_consistent"):
        check_outputs(broken)


def test_broken_cache_input_reports_every_failure_at_once() -> None:
    bars = _bars(10)
    broken = pl.concat([bars, bars.head(1)]).with_columns(
        pl.when(pl.col("ts") == T0 + timedelta(minutes=3)).then(50.0).otherwise(pl.col("high")).alias("high"),
        pl.when(pl.col("ts") == T0 + timedelta(minutes=5)).then(-1.0).otherwise(pl.col("volume")).alias("volume"),
    )
    with pytest.raises(ContractViolation) as caught:
        enforce(CacheInputBars, broken)
    message = str(caught.value)
    assert "CacheInputBars" in message and "ohlc_consistent" in message and "volume" in message
    assert "unique" in message or "duplicates" in message


def test_a_resampled_bar_whose_vwap_lies_outside_its_range_is_caught() -> None:
    frame = pl.DataFrame(
        {
            "ts": [T0, T0 + timedelta(hours=1)],
            "open": [100.0, 100.0],
            "high": [101.0, 101.0],
            "low": [99.0, 99.0],
            "close": [100.0, 100.0],
            "volume": [10.0, 0.0],
            "vwap": [120.0, None],
            "minutes": pl.Series([60, 0], dtype=pl.UInt32),
            "trades": pl.Series([1, 0], dtype=pl.UInt64),
        },
        schema_overrides={"ts": pl.Datetime("ms", "UTC")},
    )
    with pytest.raises(ContractViolation) as caught:
        enforce(ColdResampled, frame)
    assert "vwap_within_range" in str(caught.value) and "minutes" in str(caught.value)


def test_hot_payloads_need_venue_symbol_keys_and_json_values() -> None:
    latest = _bars(1).rename({"ts": "latest_ts"}).with_columns(pl.lit(1, dtype=pl.UInt64).alias("version"))
    good = latest_values(
        latest.select("venue", "symbol", "latest_ts", "open", "high", "low", "close", "volume", "trades", "version")
    )
    assert enforce(HotPayload, good).height == 1
    bad = pl.DataFrame({"key": ["binance:BTCUSDT", "no-colon", "binance:BTCUSDT"], "value": ["{}", "{}", "not json"]})
    with pytest.raises(ContractViolation) as caught:
        enforce(HotPayload, bad)
    message = str(caught.value)
    assert "str_matches" in message and "json_object_or_list" in message and "unique" in message


def test_backup_catalog_rows_must_be_consistent() -> None:
    ts = datetime(2024, 6, 1, tzinfo=UTC)
    rows = pl.DataFrame(
        {
            "name": ["full-1", "incremental-2", "full-3"],
            "kind": ["full", "incremental", "full"],
            "base": [None, None, None],
            "chain": ["full-1", "full-1", "full-3"],
            "status": ["verified", "created", "lost"],
            "started_at": [ts, ts, ts],
            "size_bytes": pl.Series([1, 2, 3], dtype=pl.UInt64),
            "rows": pl.Series([1, 2, 3], dtype=pl.UInt64),
            "verified_at": [None, None, None],
            "detail": ["", "", ""],
        },
        schema_overrides={"started_at": pl.Datetime("us", "UTC"), "verified_at": pl.Datetime("us", "UTC")},
    )
    with pytest.raises(ContractViolation) as caught:
        enforce(BackupCatalog, rows)
    message = str(caught.value)
    assert "base_matches_kind" in message and "verified_has_time" in message and "isin" in message
