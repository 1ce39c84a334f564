"""Warmup reads every timeframe's recent bars in one scan of the warm tier, and gets exactly what one query per
timeframe got: the same windows, buckets, partial edge buckets and holes, for all symbols or a few."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.hot_layout import TIMEFRAME_MINUTES, recent_values
from core.settings import Settings
from storage.warm import open_warehouse
from storage.warm.hot_source import latest_bars, recent_bars, recent_bars_all
from storage.warm.schema import migrate
from validation.contracts import BARS_COLUMNS

START = datetime(2024, 6, 3, tzinfo=UTC)


def _bars(venue: str, symbol: str, minutes: np.ndarray, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.standard_normal(minutes.size) * 1e-3))
    return pl.DataFrame(
        {
            "venue": venue,
            "symbol": symbol,
            "ts": [START + timedelta(minutes=int(m)) for m in minutes],
            "open": close * 1.0002,
            "high": close * 1.001,
            "low": close * 0.999,
            "close": close,
            "volume": rng.random(minutes.size) * 10,
            "trades": 1,
            "quote_volume": 1.0,
            "source_id": 1,
            "version": 1,
        },
        schema_overrides={
            "ts": pl.Datetime("ms", "UTC"),
            "trades": pl.UInt32,
            "source_id": pl.UInt64,
            "version": pl.UInt64,
        },
    ).select(BARS_COLUMNS)


def _load(settings: Settings) -> None:
    days = np.arange(5 * 1440)
    holed = days[(days < 1800) | (days > 2100)]  # a five-hour hole on the second day
    sparse = days[days % 7 == 3]  # every seventh minute: buckets with few minutes
    # FX: closed from Friday 21:00 UTC to Sunday 21:00 UTC (the weekend gap), 5 days from Monday
    fx = days[~((days >= 4 * 1440 + 21 * 60) & (days < 6 * 1440 + 21 * 60))]
    late = np.arange(3 * 1440 + 17, 3 * 1440 + 500)  # starts and ends mid-bucket, newest bar earlier than others
    frames = [
        _bars("binance", "BTCUSDT", holed, 1),
        _bars("binance", "ETHUSDT", sparse, 2),
        _bars("dukascopy", "EURUSD", fx, 3),
        _bars("binance", "LATEUSDT", late, 4),
    ]
    with open_warehouse(settings) as wh:
        migrate(wh)
        for frame in frames:
            wh.insert_df("bars_1m", frame)
        wh.insert_df(
            "bars_1m", frames[0].head(600).with_columns(pl.col("close") * 1.0, pl.lit(2, pl.UInt64).alias("version"))
        )


def _payloads(frame: pl.DataFrame) -> dict[str, list[dict]]:
    return {k: json.loads(v) for k, v in recent_values(frame).iter_rows()}


@pytest.mark.parametrize("count", [3, 7, 100])
def test_one_scan_equals_one_query_per_timeframe(settings: Settings, count: int) -> None:
    _load(settings)
    timeframes = dict(TIMEFRAME_MINUTES)
    subset = pl.DataFrame({"venue": ["binance", "dukascopy"], "symbol": ["ETHUSDT", "EURUSD"]})
    with open_warehouse(settings) as wh:
        for symbols in (None, subset):
            together = recent_bars_all(wh, timeframes, count, symbols=symbols)
            for name, minutes in timeframes.items():
                alone = recent_bars(wh, minutes, count, symbols=symbols)
                order = ["venue", "symbol", "bucket"]
                found, expected = together[name].sort(order), alone.sort(order)
                assert found.height == expected.height > 0, name
                assert_frame_equal(found.drop("volume"), expected.drop("volume"))
                assert_frame_equal(found.select("volume"), expected.select("volume"), check_exact=False, rel_tol=1e-12)
                got, want = _payloads(together[name]), _payloads(alone)
                assert got.keys() == want.keys()
                for key in want:  # the JSON payloads: every field equal (volume to float rounding)
                    assert [{k: v for k, v in b.items() if k != "volume"} for b in got[key]] == [
                        {k: v for k, v in b.items() if k != "volume"} for b in want[key]
                    ]
                    assert np.allclose([b["volume"] for b in got[key]], [b["volume"] for b in want[key]], rtol=1e-12)


ARGMAX_LATEST = """
    SELECT toString(venue) AS venue, symbol, max(ts) AS latest_ts,
           argMax(open, ts) AS open, argMax(high, ts) AS high, argMax(low, ts) AS low, argMax(close, ts) AS close,
           argMax(volume, ts) AS volume, argMax(trades, ts) AS trades, argMax(version, ts) AS version,
           argMax(buy_volume, ts) AS buy_volume, argMax(sell_volume, ts) AS sell_volume, argMax(vwap, ts) AS vwap,
           argMax(price_side, ts) AS price_side, argMax(bar_source, ts) AS bar_source
    FROM bars_1m FINAL GROUP BY venue, symbol
"""


def test_latest_bars_read_at_the_newest_time_equal_the_newest_version_folded_over_every_row(
    settings: Settings,
) -> None:
    _load(settings)
    with open_warehouse(settings) as wh:
        # the newest bar of BTCUSDT gets a second version too: FINAL must serve it
        newest = wh.query_df("SELECT * FROM bars_1m FINAL WHERE symbol = 'BTCUSDT' ORDER BY ts DESC LIMIT 1")
        wh.insert_df("bars_1m", newest.with_columns(pl.col("close") * 1.01, pl.lit(3, pl.UInt64).alias("version")))
        reference = wh.query_df(ARGMAX_LATEST).sort("venue", "symbol")
        subset = pl.DataFrame({"venue": ["binance", "dukascopy"], "symbol": ["BTCUSDT", "EURUSD"]})
        assert_frame_equal(latest_bars(wh).sort("venue", "symbol"), reference)
        assert_frame_equal(
            latest_bars(wh, subset).sort("venue", "symbol"), reference.join(subset, on=["venue", "symbol"])
        )
    btc = reference.filter(pl.col("symbol") == "BTCUSDT").row(0, named=True)
    assert btc["version"] == 3 and btc["close"] == pytest.approx(newest["close"][0] * 1.01)
