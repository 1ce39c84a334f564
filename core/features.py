"""Per-symbol features on 1m bars, column-wise with polars.

Windows run over bars, per symbol, across day boundaries. Recursive averages (EMA, Wilder's RSI and
ATR) forget their start exponentially: after a day of 1m bars the start's weight is below 1e-40, so
computing a day with :data:`LOOKBACK_BARS` of history before it gives the values of a full
recomputation (to float rounding).
"""

from __future__ import annotations

import polars as pl

from core.sessions import CRYPTO, session_open

FEATURE_COLUMNS = [
    "ret",
    "log_ret",
    "sma_20",
    "ema_20",
    "rsi_14",
    "atr_14",
    "rv_60",
    "zscore_60",
    # order flow (null where the bars do not know their aggressor side)
    "delta",
    "cvd",
    "buy_ratio",
]
ORDER_FLOW_COLUMNS = ["delta", "cvd", "buy_ratio"]
LOOKBACK_BARS = 2 * 1440


def _order_flow(bars: pl.DataFrame, session: str) -> pl.DataFrame:
    """``delta`` = buy - sell volume; ``cvd`` = delta summed from the start of the bar's venue session
    (crypto: 00:00 UTC; fx: 17:00 New York; equity: 09:30 New York, null outside regular hours);
    ``buy_ratio`` = buy / (buy + sell). Null where the side is unknown; a minute with unknown sides
    adds nothing to the cvd (it is never guessed)."""
    if "buy_volume" not in bars.columns or "sell_volume" not in bars.columns:
        return bars.with_columns(pl.lit(None, pl.Float64).alias(c) for c in ORDER_FLOW_COLUMNS)
    buy, sell = pl.col("buy_volume").cast(pl.Float64), pl.col("sell_volume").cast(pl.Float64)
    opened = session_open(pl.col("ts"), session)
    delta = buy - sell
    return bars.with_columns(
        delta.alias("delta"),
        pl.when(opened.is_not_null()).then(delta.fill_null(0.0).cum_sum().over(opened)).alias("cvd"),
        pl.when(buy + sell > 0).then(buy / (buy + sell)).alias("buy_ratio"),
    )


def _one_symbol(bars: pl.DataFrame, session: str = CRYPTO) -> pl.DataFrame:
    """Features of one symbol's bars in time order: plain column expressions, no per-group windows."""
    close = pl.col("close")
    prev_close = close.shift(1)
    delta = close - prev_close
    gain = pl.when(delta > 0).then(delta).otherwise(0.0)
    loss = pl.when(delta < 0).then(-delta).otherwise(0.0)
    # max(high - low, |high - prev|, |low - prev|), the same float for high >= low (a contract rule of the bars):
    # each of the three is one subtraction of the two extremes, taken once here (a 3-way max of abs was 2x dearer)
    true_range = pl.max_horizontal(pl.col("high"), prev_close) - pl.min_horizontal(pl.col("low"), prev_close)
    return (
        _order_flow(bars, session)
        .with_columns(
            (close / prev_close - 1).alias("ret"),
            (close / prev_close).log().alias("log_ret"),
            close.rolling_mean(20).alias("sma_20"),
            close.ewm_mean(span=20, adjust=False).alias("ema_20"),
            gain.ewm_mean(alpha=1 / 14, adjust=False).alias("_avg_gain"),
            loss.ewm_mean(alpha=1 / 14, adjust=False).alias("_avg_loss"),
            true_range.ewm_mean(alpha=1 / 14, adjust=False).alias("atr_14"),
            close.rolling_mean(60).alias("_mean_60"),
            close.rolling_std(60).alias("_std_60"),
        )
        .with_columns(
            pl.when(pl.col("_avg_loss") == 0)
            .then(pl.when(pl.col("_avg_gain") == 0).then(50.0).otherwise(100.0))
            .otherwise(100 - 100 / (1 + pl.col("_avg_gain") / pl.col("_avg_loss")))
            .alias("rsi_14"),
            (pl.col("log_ret") ** 2).rolling_sum(60).sqrt().alias("rv_60"),
            pl.when(pl.col("_std_60") > 0).then((close - pl.col("_mean_60")) / pl.col("_std_60")).alias("zscore_60"),
        )
        .select("venue", "symbol", "ts", *FEATURE_COLUMNS)
    )


def time_ordered(bars: pl.DataFrame) -> bool:
    """True when rows are grouped by symbol and in time order within each group (no sort needed)."""
    if bars.height < 2:
        return True
    starts, contiguous = _symbol_runs(bars)
    if not contiguous:
        return False
    # ts rises within each run; a run's first row may step back (it starts another symbol)
    rising = bars.get_column("ts").to_physical().diff() > 0
    return bool(rising.scatter(starts, True).all())


def _symbol_runs(bars: pl.DataFrame) -> tuple[list[int], bool]:
    """Row index where each (venue, symbol) run starts, and whether each symbol is one run (contiguous).

    One run-length pass over the rows; uniqueness is then judged over the runs (a few hundred values),
    not over every row.
    """
    runs = bars.select(pl.struct("venue", "symbol").rle().alias("run")).unnest("run")
    lengths = runs.get_column("len")
    starts = (lengths.cum_sum() - lengths).to_list()
    return starts, runs.get_column("value").n_unique() == runs.height


def _symbol_slices(bars: pl.DataFrame) -> list[pl.DataFrame]:
    """Each symbol's rows: zero-copy slices when they are contiguous (as the warm tier returns them),
    else a partition (a copy)."""
    if bars.height == 0:
        return []
    starts, contiguous = _symbol_runs(bars)
    if not contiguous:
        return bars.partition_by("venue", "symbol", maintain_order=True)
    ends = [*starts[1:], bars.height]
    return [bars.slice(start, end - start) for start, end in zip(starts, ends, strict=True)]


def compute_features(bars: pl.DataFrame, session: str = CRYPTO) -> pl.DataFrame:
    """``bars``: venue, symbol, ts, open, high, low, close (one or more symbols); returns them + features,
    symbol by symbol in order of first appearance, in time order within each.

    One symbol at a time: windows then never cross symbols, and no per-group window machinery is
    needed (several times faster than ``.over()`` on millions of rows).
    """
    out = [_one_symbol(p if p.get_column("ts").is_sorted() else p.sort("ts"), session) for p in _symbol_slices(bars)]
    return pl.concat(out, how="vertical") if out else _one_symbol(bars.head(0), session)
