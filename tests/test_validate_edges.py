"""Validate at the edges of a range: gaps clipped to the range with their true length inside it, the opening
minutes a symbol missed on its first day are a gap, and every day of the range is evaluated (pure checks)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from validation.warm_checks import CheckRules, ValidationRange, check_bars, expected_windows

TS = pl.Datetime("ms", "UTC")


def _bars(start: datetime, end: datetime, symbol: str = "BTCUSDT", skip: set[datetime] | None = None) -> pl.DataFrame:
    """1m crypto bars over [start, end], minus ``skip``; gentle random walk so no spike or stale run fires."""
    minutes = [start + timedelta(minutes=i) for i in range(int((end - start) / timedelta(minutes=1)) + 1)]
    minutes = [m for m in minutes if m not in (skip or set())]
    rng = np.random.default_rng(7)
    close = 100 * np.exp(np.cumsum(rng.standard_normal(len(minutes)) * 1e-3))
    return pl.DataFrame(
        {
            "venue": "binance",
            "symbol": symbol,
            "ts": minutes,
            "high": close * 1.001,
            "low": close * 0.999,
            "close": close,
            "volume": rng.random(len(minutes)) + 0.5,
            "source_id": np.uint64(1),
        }
    ).with_columns(pl.col("ts").cast(TS))


def _check(bars: pl.DataFrame, first: date, last: date, now: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = ValidationRange(first, last, now)
    scope = bars.group_by("venue", "symbol").agg(
        pl.col("ts").min().alias("first_seen"), pl.col("ts").max().alias("last_seen")
    )
    loaded = bars.filter((pl.col("ts") >= rng.load_start) & (pl.col("ts") < rng.load_end)).sort("venue", "symbol", "ts")
    outcome = check_bars(loaded, expected_windows(scope, rng), rng, CheckRules())
    return outcome.anomalies.filter(pl.col("check") == "gap"), outcome.day_counts


def test_a_missing_last_minute_is_a_one_minute_gap_inside_the_range() -> None:
    """Before: a missing 23:59 on the last day ran on through the unloaded next day: a 1,441-minute gap."""
    d0 = datetime(2024, 6, 3, tzinfo=UTC)
    bars = _bars(d0, d0 + timedelta(days=3) - timedelta(minutes=2))  # ends 06-05 23:58; nothing after
    gaps, _ = _check(bars, date(2024, 6, 3), date(2024, 6, 5), now=datetime(2024, 6, 10, tzinfo=UTC))
    (gap,) = gaps.iter_rows(named=True)
    assert gap["minutes"] == 1 and gap["ts"] == gap["end_ts"] == datetime(2024, 6, 5, 23, 59, tzinfo=UTC)
    assert gap["detail"].startswith("1 expected minutes missing")


def test_a_gap_that_began_before_the_range_counts_only_its_minutes_inside() -> None:
    d0 = datetime(2024, 6, 3, tzinfo=UTC)
    hole = {d0 + timedelta(hours=23, minutes=m) for m in range(0, 120)}  # 06-03 23:00 .. 06-04 00:59
    bars = _bars(d0, d0 + timedelta(days=3), skip=hole)
    gaps, _ = _check(bars, date(2024, 6, 4), date(2024, 6, 4), now=datetime(2024, 6, 10, tzinfo=UTC))
    (gap,) = gaps.iter_rows(named=True)
    assert gap["ts"] == datetime(2024, 6, 4, 0, 0, tzinfo=UTC) and gap["minutes"] == 60
    assert gap["end_ts"] == datetime(2024, 6, 4, 0, 59, tzinfo=UTC)


def test_missing_opening_minutes_on_a_symbols_first_day_are_a_gap() -> None:
    """Before: expectations began at the first bar ever, so 00:00-00:04 of the first day were never missing."""
    d0 = datetime(2024, 6, 3, tzinfo=UTC)
    bars = _bars(d0 + timedelta(minutes=5), d0 + timedelta(days=2, minutes=-1))
    gaps, days = _check(bars, date(2024, 6, 3), date(2024, 6, 4), now=datetime(2024, 6, 10, tzinfo=UTC))
    (gap,) = gaps.iter_rows(named=True)
    assert gap["ts"] == d0 and gap["minutes"] == 5
    first = days.filter(pl.col("day") == date(2024, 6, 3)).row(0, named=True)
    assert (first["expected"], first["present"]) == (1440, 1435)


def test_every_day_of_the_range_is_evaluated() -> None:
    d0 = datetime(2024, 6, 3, tzinfo=UTC)
    bars = pl.concat(
        [
            _bars(d0, d0 + timedelta(days=2, minutes=-1)),  # 06-03 and 06-04, then nothing
            _bars(d0 + timedelta(days=1), d0 + timedelta(days=6, minutes=-1), symbol="ETHUSDT"),  # listed 06-04
        ]
    ).sort("venue", "symbol", "ts")
    _, days = _check(bars, date(2024, 6, 3), date(2024, 6, 6), now=datetime(2024, 6, 6, 12, 0, tzinfo=UTC))
    btc = days.filter(pl.col("symbol") == "BTCUSDT").sort("day")
    assert btc["day"].to_list() == [date(2024, 6, d) for d in (3, 4, 5, 6)]
    assert btc["expected"].to_list() == [1440, 1440, 1440, 720] and btc["present"].to_list() == [1440, 1440, 0, 0]
    eth = days.filter(pl.col("symbol") == "ETHUSDT").sort("day")
    assert eth["day"].to_list() == [date(2024, 6, d) for d in (4, 5, 6)]
