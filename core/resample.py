"""1m -> 5m, 15m, 1h, 4h, 1d bars.

Conventions: intervals are left-closed and labelled by their open time; intraday buckets are
anchored at UTC midnight; daily bars follow the venue's session (:mod:`core.sessions`).
open = first, high = max, low = min, close = last, volume = sum, ``vwap`` = volume-weighted typical
price (null without volume), ``minutes`` = how many 1m bars made the bar (a partial bar is visible).
No bar is forward-filled; a bar whose interval has not ended by ``now`` is not emitted.
"""

from __future__ import annotations

from datetime import datetime

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
    out = (
        ordered.lazy()
        .with_columns(label.alias("bucket"))
        .filter(pl.col("bucket").is_not_null())
        .group_by("venue", "symbol", "bucket")
        .agg(
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
            # Float sums as lists summed per bar: a hash aggregation adds partial sums in an order that
            # depends on threads and chunking (two builds differed by ~1e-12), a list keeps row order.
            pl.col("volume").alias("_volume"),
            (typical * pl.col("volume")).alias("_turnover"),
            pl.len().cast(pl.UInt32).alias("minutes"),
            pl.col("trades").sum().cast(pl.UInt64).alias("trades"),
        )
        .with_columns(pl.col("_volume").list.sum().alias("volume"), pl.col("_turnover").list.sum().alias("_turnover"))
        .with_columns(pl.when(pl.col("volume") > 0).then(pl.col("_turnover") / pl.col("volume")).alias("vwap"))
        .filter(pl.col("bucket") + length <= pl.lit(now).cast(pl.Datetime("ms", "UTC")))
        .rename({"bucket": "ts"})
        .with_columns(pl.col("ts").cast(pl.Datetime("ms", "UTC")))
        .select(RESAMPLED_COLUMNS)
        .sort("venue", "symbol", "ts")
        .collect()
    )
    return out
