"""Vendor minute candles that come with a price side (LEAN minute quote and trade zips) into partials.

A quote candle file holds bid and ask OHLC per minute; each side becomes its own bar (``SYM.BID`` /
``SYM.ASK``). The mid of two candles is not a candle (the mid's high is not the mean of the highs), so
no ``.MID`` bar is made from them. Candles do not say trade counts, aggressor sides or quote volume:
``trades`` 0, buy/sell volume and vwap null. A minute is expected once per source (as in LEAN's daily
files); two files holding the same candle minute would be merged like a split minute.
"""

from __future__ import annotations

import polars as pl

from core.trades.aggregate import PARTIAL_SCHEMA

CANDLE_SCHEMA: dict[str, pl.DataType] = {
    "line": pl.UInt32(),
    "ts": pl.Datetime("us", "UTC"),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Float64(),
    "price_side": pl.String(),
    "bar_source": pl.String(),
    "venue": pl.String(),
    "symbol": pl.String(),
    "raw": pl.String(),
}
_PRICES = ("open", "high", "low", "close")

CANDLE_CHECKS: dict[str, pl.Expr] = {
    "row_unparseable": pl.col("raw").is_not_null() | pl.any_horizontal(pl.col(c).is_null() for c in ("ts", *_PRICES)),
    "price_not_finite_positive": pl.any_horizontal(~pl.col(c).is_finite() | (pl.col(c) <= 0) for c in _PRICES),
    "volume_negative": ~pl.col("volume").is_finite() | (pl.col("volume") < 0),
    "high_below_open_close": pl.col("high") < pl.max_horizontal("open", "close"),
    "low_above_open_close": pl.col("low") > pl.min_horizontal("open", "close"),
    "high_below_low": pl.col("high") < pl.col("low"),
    "ts_not_minute_aligned": pl.col("ts").dt.epoch("us") % 60_000_000 != 0,
}


def conform_candles(frame: pl.DataFrame) -> pl.DataFrame:
    defaults = {"bar_source": pl.lit("candles"), "volume": pl.lit(0.0)}
    return frame.select(
        pl.col(n).cast(t, strict=False) if n in frame.columns else defaults.get(n, pl.lit(None)).cast(t).alias(n)
        for n, t in CANDLE_SCHEMA.items()
    )


def check_candles(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(passed, rejected with ``checks`` and ``detail``)."""
    flags = [pl.when(expr.fill_null(True)).then(pl.lit(name)) for name, expr in CANDLE_CHECKS.items()]
    judged = frame.with_columns(pl.concat_list(flags).list.drop_nulls().alias("checks"))
    bad = pl.col("checks").list.len() > 0
    rejected = judged.filter(bad).with_columns(
        pl.format(
            "line {}: ts={} open={} high={} low={} close={}",
            "line",
            pl.col("ts").dt.to_string("%Y-%m-%dT%H:%M:%SZ").fill_null("?"),
            *(pl.col(c).cast(pl.String).fill_null("?") for c in _PRICES),
        ).alias("detail")
    )
    return judged.filter(~bad).drop("checks"), rejected


def candle_partials(candles: pl.DataFrame, path: str, source_id: int) -> pl.DataFrame:
    """One partial per candle: open/close keep the candle's minute as their time (a candle is whole)."""
    return candles.select(
        "venue",
        "symbol",
        "price_side",
        pl.col("ts").cast(pl.Datetime("ms", "UTC")),
        pl.lit(path).alias("path"),
        pl.lit(source_id, pl.UInt64).alias("source_id"),
        "bar_source",
        pl.col("ts").alias("first_ts"),
        pl.lit(None, pl.Int64).alias("first_id"),
        pl.col("line").alias("first_line"),
        "open",
        pl.col("ts").alias("last_ts"),
        pl.lit(None, pl.Int64).alias("last_id"),
        pl.col("line").alias("last_line"),
        "close",
        "high",
        "low",
        "volume",
        pl.lit(float("nan")).alias("quote_volume"),
        pl.lit(0, pl.UInt64).alias("trades"),
        pl.lit(0.0).alias("buy_volume"),
        pl.lit(0.0).alias("sell_volume"),
        pl.col("volume").alias("unknown_volume"),
        pl.lit(1, pl.UInt64).alias("unknown_trades"),  # sides unknown: buy/sell stay null
    ).select([pl.col(n).cast(t) for n, t in PARTIAL_SCHEMA.items()])
