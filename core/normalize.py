"""Raw reader output -> candidate bars: attach identity and ids, settle units and defaults."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl


@dataclass(frozen=True)
class Identity:
    """Who the rows of one source file belong to, and which load wrote them."""

    venue: str
    symbol: str
    source_id: int
    version: int


def side_symbol(symbol: str | pl.Expr, side: pl.Expr) -> pl.Expr:
    """``EURUSD`` + row side ``bid`` -> ``EURUSD.BID``: quote sides of one instrument never share a series.

    Rows without a side (trades, single-sided vendor candles such as HistData) keep the plain symbol.
    ``symbol`` is one file's symbol or a column of them (a whole batch at once).
    """
    plain = pl.lit(symbol, pl.String) if isinstance(symbol, str) else symbol
    return pl.when(side.is_null()).then(plain).otherwise(pl.concat_str([plain, pl.lit("."), side.str.to_uppercase()]))


def to_candidates(raw: pl.DataFrame, identity: Identity) -> pl.DataFrame:
    """Columns of ``bars_1m`` plus ``line``/``raw`` for quarantine.

    ``trades`` is 0 and ``quote_volume`` NaN when unknown; a row with a quote side gets the side suffix on its
    symbol (:func:`side_symbol`).
    """
    return batch_candidates([raw], [identity])


def batch_candidates(raws: Sequence[pl.DataFrame], identities: Sequence[Identity]) -> pl.DataFrame:
    """:func:`to_candidates` of many files in one pass: the frames are stacked, each row knows its file by
    index, and the identity columns are gathered from one row per file. A batch of 1,024 small files is
    then one set of column expressions instead of 1,024 (same rows, same columns, same types)."""
    stacked = pl.concat(raws, how="vertical", rechunk=True) if len(raws) > 1 else raws[0]
    return stacked_candidates(stacked, [raw.height for raw in raws], identities)


def stacked_candidates(raw: pl.DataFrame, heights: Sequence[int], identities: Sequence[Identity]) -> pl.DataFrame:
    """:func:`batch_candidates` of files already stacked into ``raw`` (``heights``: each file's row count, in order)."""
    index = pl.Series("_file", np.repeat(np.arange(len(heights), dtype=np.uint32), heights))
    files = pl.DataFrame(
        {
            "venue": [i.venue for i in identities],
            "symbol": [i.symbol for i in identities],
            "source_id": [i.source_id for i in identities],
            "version": [i.version for i in identities],
        },
        schema={"venue": pl.String, "symbol": pl.String, "source_id": pl.UInt64, "version": pl.UInt64},
    )
    raw = raw.with_columns(files.get_column(c).gather(index).alias(f"_{c}") for c in files.columns)
    side = pl.col("side") if "side" in raw.columns else pl.lit(None, pl.String)
    return raw.select(
        pl.col("_venue").alias("venue"),
        side_symbol(pl.col("_symbol"), side).alias("symbol"),
        "ts",
        "open",
        "high",
        "low",
        "close",
        "volume",
        pl.col("trades").fill_null(0).clip(0, 2**32 - 1).cast(pl.UInt32).alias("trades"),
        pl.col("quote_volume").fill_null(float("nan")).alias("quote_volume"),
        pl.col("_source_id").alias("source_id"),
        pl.col("_version").alias("version"),
        *candle_order_flow(raw.columns),
        "line",
        "raw",
    )


def candle_order_flow(columns: list[str]) -> list[pl.Expr]:
    """Order-flow columns of a vendor candle: buy volume as published (Binance taker-buy base volume),
    sell = volume - buy, vwap = quote volume / volume (both are sums over the minute's trades); null
    where the vendor does not publish them, never guessed."""
    buy = pl.col("buy_volume") if "buy_volume" in columns else pl.lit(None, pl.Float64)
    quote = pl.col("quote_volume")
    side = pl.col("side").fill_null("trade") if "side" in columns else pl.lit("trade", pl.String)
    known_quote = quote.is_not_null() & quote.is_not_nan() & (pl.col("volume") > 0)
    return [
        buy.alias("buy_volume"),
        pl.when(buy.is_not_null()).then(pl.max_horizontal(pl.col("volume") - buy, 0.0)).alias("sell_volume"),
        pl.when(known_quote).then(quote / pl.col("volume")).alias("vwap"),
        side.alias("price_side"),
        pl.lit("candles", pl.String).alias("bar_source"),
    ]
