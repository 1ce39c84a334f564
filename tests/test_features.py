"""Symbol boundaries of the features: one run-length pass must give the same features as a sort + partition."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl

from core.features import FEATURE_COLUMNS, compute_features, time_ordered


def _bars(minutes: int = 300) -> pl.DataFrame:
    rng = np.random.default_rng(3)
    keys = [("binance", "BTCUSDT"), ("binance", "ETHUSDT"), ("kraken", "BTCUSDT")]
    n = len(keys) * minutes
    close = 100 * np.exp(np.cumsum(rng.standard_normal(n) * 1e-3))
    start = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
    return pl.DataFrame(
        {
            "venue": np.repeat([k[0] for k in keys], minutes),
            "symbol": np.repeat([k[1] for k in keys], minutes),
            "ts": np.tile(np.arange(minutes, dtype=np.int64) * 60_000 + start, len(keys)),
            "open": close,
            "high": close * 1.001,
            "low": close * 0.999,
            "close": close,
        }
    ).with_columns(pl.col("ts").cast(pl.Datetime("ms", "UTC")))


def test_contiguous_runs_give_the_features_of_each_symbol_alone() -> None:
    bars = _bars()
    together = compute_features(bars)
    alone = pl.concat([compute_features(part) for part in bars.partition_by("venue", "symbol", maintain_order=True)])
    assert together.height == bars.height
    assert together.equals(alone)
    # same symbol on two venues is two runs: windows never cross the venue boundary
    kraken = together.filter(pl.col("venue") == "kraken")
    assert kraken.get_column("ret").is_null()[0] and kraken.get_column("sma_20").null_count() == 19


def test_shuffled_or_interleaved_rows_give_the_same_features_as_sorted_ones() -> None:
    bars = _bars()
    expected = compute_features(bars).sort("venue", "symbol", "ts")
    shuffled = bars.sample(fraction=1.0, shuffle=True, seed=5)
    got = compute_features(shuffled).sort("venue", "symbol", "ts")
    assert got.select(FEATURE_COLUMNS).equals(expected.select(FEATURE_COLUMNS))
    # a symbol split into two runs (BTC, ETH, BTC) is not contiguous: partitioned, not sliced
    split = pl.concat([bars.head(100), bars.slice(300, 300), bars.slice(100, 200), bars.slice(600, 300)])
    assert (
        compute_features(split)
        .sort("venue", "symbol", "ts")
        .equals(compute_features(bars).sort("venue", "symbol", "ts"))
    )


def test_time_ordered_needs_contiguous_symbols_and_rising_time_within_each() -> None:
    bars = _bars(10)
    assert time_ordered(bars)
    assert time_ordered(bars.head(1))
    assert not time_ordered(bars.reverse())  # time falls within a symbol
    assert not time_ordered(pl.concat([bars, bars.head(1)]))  # a symbol's rows come back later
    assert not time_ordered(pl.concat([bars.head(2), bars.slice(1, 1)]))  # a repeated ts is not rising
