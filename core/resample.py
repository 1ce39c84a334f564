"""1m -> 5m, 15m, 1h, 4h, 1d bars.

Conventions: intervals are left-closed and labelled by their open time; intraday buckets are
anchored at UTC midnight; daily bars follow the venue's session (:mod:`core.sessions`).
open = first, high = max, low = min, close = last, volume = sum, ``vwap`` = volume-weighted typical
price (null without volume), ``minutes`` = how many 1m bars made the bar (a partial bar is visible).
No bar is forward-filled; a bar whose interval has not ended by ``now`` is not emitted.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl

from core.features import time_ordered
from core.sessions import session_length, session_open

TIMEFRAMES = {"5m": 5, "15m": 15, "1h": 60, "4h": 240, "1d": 1440}
RESAMPLED_COLUMNS = ["venue", "symbol", "ts", "open", "high", "low", "close", "volume", "vwap", "minutes", "trades"]


def resample(bars: pl.DataFrame, timeframe: str, session: str, now: datetime) -> pl.DataFrame:
    """``bars``: 1m bars of one or more symbols of one session kind (any order)."""
    if timeframe == "1d":
        label = session_open(pl.col("ts"), session)
        length = session_length(session)
    else:
        minutes = TIMEFRAMES[timeframe]
        label = pl.col("ts").dt.truncate(f"{minutes}m")
        length = pl.duration(minutes=minutes)
    typical = (pl.col("high") + pl.col("low") + pl.col("close")) / 3
    ordered = bars if time_ordered(bars) else bars.sort("venue", "symbol", "ts")  # first/last need time order
    labelled = (
        ordered.lazy()
        .with_columns(label.alias("bucket"), (typical * pl.col("volume")).alias("_turnover"))
        .filter(pl.col("bucket").is_not_null())
        .collect()
    )
    # One bar per contiguous run of (venue, symbol, bucket): rows are grouped by symbol and in time order. Every
    # aggregate is taken over the run in row order by numpy; a hash aggregation would add float partial sums
    # in an order that depends on threads and chunking (two builds of the same data differed by ~1e-12 in
    # volume/vwap), this gives the same bytes each time.
    starts = _run_starts(labelled)
    ends = np.append(starts[1:], labelled.height).astype(np.int64)
    grouped = (
        labelled.select("venue", "symbol", "bucket")
        .gather(starts)
        .with_columns(
            pl.Series("open", _column(labelled, "open")[starts] if len(starts) else [], dtype=pl.Float64),
            pl.Series("high", _reduce(np.maximum, labelled, "high", starts), dtype=pl.Float64),
            pl.Series("low", _reduce(np.minimum, labelled, "low", starts), dtype=pl.Float64),
            pl.Series("close", _column(labelled, "close")[ends - 1] if len(starts) else [], dtype=pl.Float64),
            pl.Series("volume", _reduce(np.add, labelled, "volume", starts), dtype=pl.Float64),
            pl.Series("_turnover", _reduce(np.add, labelled, "_turnover", starts), dtype=pl.Float64),
            pl.Series("minutes", ends - starts, dtype=pl.UInt32),
            pl.Series("trades", _reduce(np.add, labelled, "trades", starts, np.uint64), dtype=pl.UInt64),
        )
    )
    out = (
        grouped.lazy()
        .with_columns(pl.when(pl.col("volume") > 0).then(pl.col("_turnover") / pl.col("volume")).alias("vwap"))
        .filter(pl.col("bucket") + length <= pl.lit(now).cast(pl.Datetime("ms", "UTC")))
        .rename({"bucket": "ts"})
        .with_columns(pl.col("ts").cast(pl.Datetime("ms", "UTC")))
        .select(RESAMPLED_COLUMNS)
        .sort("venue", "symbol", "ts")
        .collect()
    )
    return out


def _run_starts(labelled: pl.DataFrame) -> np.ndarray:
    """Row index where each (venue, symbol, bucket) run begins (rows are grouped and time-ordered)."""
    if labelled.height == 0:
        return np.zeros(0, dtype=np.int64)
    changed = (
        (pl.col("venue") != pl.col("venue").shift(1))
        | (pl.col("symbol") != pl.col("symbol").shift(1))
        | (pl.col("bucket") != pl.col("bucket").shift(1))
    ).fill_null(True)
    return np.flatnonzero(labelled.select(changed).to_series().to_numpy())


def _column(frame: pl.DataFrame, name: str, dtype: type[np.generic] = np.float64) -> np.ndarray:
    return frame.get_column(name).to_numpy().astype(dtype, copy=False)


def _reduce(
    ufunc: np.ufunc, frame: pl.DataFrame, name: str, starts: np.ndarray, dtype: type[np.generic] = np.float64
) -> np.ndarray:
    """``ufunc`` over each run of column ``name`` beginning at ``starts``, in row order."""
    if len(starts) == 0:
        return np.zeros(0, dtype=dtype)
    return ufunc.reduceat(_column(frame, name, dtype), starts)
