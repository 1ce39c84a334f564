"""Raw reader output -> candidate bars: attach identity and ids, settle units and defaults."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Identity:
    """Who the rows of one source file belong to, and which load wrote them."""

    venue: str
    symbol: str
    source_id: int
    version: int


def side_symbol(symbol: str, side: pl.Expr) -> pl.Expr:
    """``EURUSD`` + row side ``bid`` -> ``EURUSD.BID``: quote sides of one instrument never share a series.

    Rows without a side (trades, single-sided vendor candles such as HistData) keep the plain symbol.
    """
    plain = pl.lit(symbol, pl.String)
    return pl.when(side.is_null()).then(plain).otherwise(pl.concat_str([plain, pl.lit("."), side.str.to_uppercase()]))


def to_candidates(raw: pl.DataFrame, identity: Identity) -> pl.DataFrame:
    """Columns of ``bars_1m`` plus ``line``/``raw`` for quarantine.

    ``trades`` is 0 and ``quote_volume`` NaN when unknown; a row with a quote side gets the side suffix on its
    symbol (:func:`side_symbol`).
    """
    side = pl.col("side") if "side" in raw.columns else pl.lit(None, pl.String)
    return raw.select(
        pl.lit(identity.venue, pl.String).alias("venue"),
        side_symbol(identity.symbol, side).alias("symbol"),
        "ts",
        "open",
        "high",
        "low",
        "close",
        "volume",
        pl.col("trades").fill_null(0).clip(0, 2**32 - 1).cast(pl.UInt32).alias("trades"),
        pl.col("quote_volume").fill_null(float("nan")).alias("quote_volume"),
        pl.lit(identity.source_id, pl.UInt64).alias("source_id"),
        pl.lit(identity.version, pl.UInt64).alias("version"),
        "line",
        "raw",
    )
