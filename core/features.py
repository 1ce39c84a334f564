"""Per-symbol features on 1m bars, column-wise with polars.

Windows run over bars, per symbol, across day boundaries. Recursive averages (EMA, Wilder's RSI and
ATR) forget their start exponentially: after a day of 1m bars the start's weight is below 1e-40, so
computing a day with :data:`LOOKBACK_BARS` of history before it gives the values of a full
recomputation (to float rounding).
"""

from __future__ import annotations

import polars as pl

FEATURE_COLUMNS = ["ret", "log_ret", "sma_20", "ema_20", "rsi_14", "atr_14", "rv_60", "zscore_60"]
LOOKBACK_BARS = 2 * 1440


def compute_features(bars: pl.DataFrame) -> pl.DataFrame:
    """``bars``: venue, symbol, ts, open, high, low, close (one or more symbols); returns them + features."""
    by = ["venue", "symbol"]
    close = pl.col("close")
    prev_close = close.shift(1).over(by)
    delta = close - prev_close
    gain = pl.when(delta > 0).then(delta).otherwise(0.0)
    loss = pl.when(delta < 0).then(-delta).otherwise(0.0)
    true_range = pl.max_horizontal(pl.col("high") - pl.col("low"), (pl.col("high") - prev_close).abs(), (pl.col("low") - prev_close).abs())
    return (
        bars.lazy()
        .sort(*by, "ts")
        .with_columns(
            (close / prev_close - 1).alias("ret"),
            (close / prev_close).log().alias("log_ret"),
            close.rolling_mean(20).over(by).alias("sma_20"),
            close.ewm_mean(span=20, adjust=False).over(by).alias("ema_20"),
            gain.ewm_mean(alpha=1 / 14, adjust=False).over(by).alias("_avg_gain"),
            loss.ewm_mean(alpha=1 / 14, adjust=False).over(by).alias("_avg_loss"),
            true_range.ewm_mean(alpha=1 / 14, adjust=False).over(by).alias("atr_14"),
            close.rolling_mean(60).over(by).alias("_mean_60"),
            close.rolling_std(60).over(by).alias("_std_60"),
        )
        .with_columns(
            pl.when(pl.col("_avg_loss") == 0).then(pl.when(pl.col("_avg_gain") == 0).then(50.0).otherwise(100.0))
            .otherwise(100 - 100 / (1 + pl.col("_avg_gain") / pl.col("_avg_loss"))).alias("rsi_14"),
            (pl.col("log_ret") ** 2).rolling_sum(60).over(by).sqrt().alias("rv_60"),
            pl.when(pl.col("_std_60") > 0).then((close - pl.col("_mean_60")) / pl.col("_std_60")).alias("zscore_60"),
        )
        .select(*by, "ts", *FEATURE_COLUMNS)
        .collect()
    )
