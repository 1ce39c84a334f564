"""The Great Expectations suite fails on what the gate lets through, and passes on clean bars.

Before: the suite re-checked the gate's own rules on bars the gate had already cleaned, so it always passed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from validation.expectations import behaviour_columns, run_suite
from validation.gate import GATE_CHECKS

START = datetime(2024, 6, 3, tzinfo=UTC)  # a Monday
END = START + timedelta(days=3)
TS = pl.Datetime("ms", "UTC")


def _bars(venue: str, symbol: str, seed: int) -> pl.DataFrame:
    n = 3 * 1440
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 2e-4, n)))
    opened = np.r_[close[0], close[:-1]]
    return pl.DataFrame(
        {
            "venue": venue,
            "symbol": symbol,
            "ts": [START + timedelta(minutes=i) for i in range(n)],
            "open": opened,
            "high": np.maximum(opened, close) * 1.0002,
            "low": np.minimum(opened, close) * 0.9998,
            "close": close,
            "volume": rng.lognormal(1.0, 0.4, n),
        },
        schema_overrides={"ts": TS},
    )


def _gate_passes(bars: pl.DataFrame) -> bool:
    judged = bars.with_columns(raw=pl.lit(None, pl.String))
    return not judged.select(pl.any_horizontal(e.fill_null(False) for e in GATE_CHECKS.values()).any()).item()


def test_planted_anomalies_the_gate_lets_through_fail_their_expectations_and_clean_bars_pass() -> None:
    clean = pl.concat([_bars("binance", "BTCUSDT", 1), _bars("dukascopy", "EURUSD", 2)])
    passed = run_suite(behaviour_columns(clean, START, END))
    assert passed.success and passed.evaluated == 4 and passed.failed == []

    saturday = (START + timedelta(days=5, hours=12)).replace(tzinfo=UTC)  # FX is closed: not a calendar minute
    off_hours = _bars("dukascopy", "EURUSD", 2).tail(1).with_columns(ts=pl.lit(saturday).cast(TS))
    i = 2000
    planted = clean.with_columns(
        # a fat-finger print on BTCUSDT: 3% up for one bar, consistent OHLC (the gate cannot object)
        close=pl.when(pl.int_range(pl.len()) == i).then(pl.col("close") * 1.03).otherwise(pl.col("close")),
        high=pl.when(pl.int_range(pl.len()) == i).then(pl.col("close") * 1.031).otherwise(pl.col("high")),
        volume=pl.when(pl.int_range(pl.len()) == i + 100).then(pl.col("volume") * 1e5).otherwise(pl.col("volume")),
    )
    planted = pl.concat([planted, off_hours])
    assert _gate_passes(planted)  # every planted row is valid by the gate's rules
    failed = run_suite(behaviour_columns(planted, START, START + timedelta(days=7)))
    assert not failed.success
    by_column = {o.column: o for o in failed.outcomes}
    assert {c for c, o in by_column.items() if not o.success} == {
        "move_sigma",
        "open_jump_sigma",  # the bar after the print opens back at the old level
        "volume_ratio",
        "on_calendar",
    }
    spike_at = f"{START + timedelta(minutes=i):%Y-%m-%d %H:%M} UTC"
    assert by_column["move_sigma"].examples[0].startswith(f"binance:BTCUSDT {spike_at}")
    assert by_column["move_sigma"].observed.startswith("2 of ")  # out and back
    assert by_column["on_calendar"].examples == [
        f"dukascopy:EURUSD {saturday:%Y-%m-%d %H:%M} UTC (not a calendar minute)"
    ]
    assert by_column["volume_ratio"].observed.startswith("1 of ")
