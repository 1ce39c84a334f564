"""The canonical trade frame: what every trade/quote reader hands over, one batch at a time."""

from __future__ import annotations

import polars as pl

TRADE_TS = pl.Datetime("us", "UTC")

# side: +1 the aggressor bought, -1 the aggressor sold, null the source does not say.
# side_bad: the source gave a side value no reader knows (an error row, never guessed).
# trade_id: the vendor's trade id when numeric (dedup key and tie-break for trades sharing a time).
# count: exchange trades the row stands for (an aggTrade row is several; default 1).
# flagged: the vendor marks the trade as not to be used (LEAN/AlgoSeek ``suspicious``): quarantined.
# price_side: "trade" for trades; "bid" / "ask" / "mid" for quote rows (one row per side).
# symbol / venue: from the file's content when it names them (Tardis), else null (the file's identity).
# raw: the source line, kept only when the row did not parse cleanly.
TRADE_SCHEMA: dict[str, pl.DataType] = {
    "line": pl.UInt32(),
    "ts": TRADE_TS,
    "price": pl.Float64(),
    "size": pl.Float64(),
    "side": pl.Int8(),
    "side_bad": pl.Boolean(),
    "trade_id": pl.Int64(),
    "count": pl.UInt32(),
    "flagged": pl.Boolean(),
    "price_side": pl.String(),
    "bar_source": pl.String(),
    "venue": pl.String(),
    "symbol": pl.String(),
    "raw": pl.String(),
}

SIDE_BUY = 1
SIDE_SELL = -1


def conform_trades(frame: pl.DataFrame) -> pl.DataFrame:
    """Add missing optional columns and cast/order everything to :data:`TRADE_SCHEMA`."""
    defaults = {
        "side_bad": pl.lit(False),
        "count": pl.lit(1),
        "flagged": pl.lit(False),
        "price_side": pl.lit("trade"),
        "bar_source": pl.lit("trades"),
    }
    return frame.select(
        (
            pl.col(name).cast(dtype, strict=False)
            if name in frame.columns
            else defaults.get(name, pl.lit(None)).cast(dtype).alias(name)
        )
        for name, dtype in TRADE_SCHEMA.items()
    )


def empty_trades() -> pl.DataFrame:
    return pl.DataFrame(schema=TRADE_SCHEMA)


def side_from_text(
    col: pl.Expr, buy: tuple[str, ...], sell: tuple[str, ...], unknown: tuple[str, ...]
) -> list[pl.Expr]:
    """``side`` and ``side_bad`` from a text column: known buy/sell words, words that mean "not said", anything
    else is bad (case-insensitive, trimmed)."""
    text = col.cast(pl.String).str.strip_chars().str.to_lowercase()
    is_buy, is_sell = text.is_in(list(buy)), text.is_in(list(sell))
    known = is_buy | is_sell | text.is_in(list(unknown)) | text.is_null() | (text == "")
    return [
        pl.when(is_buy).then(pl.lit(SIDE_BUY)).when(is_sell).then(pl.lit(SIDE_SELL)).cast(pl.Int8).alias("side"),
        (~known).alias("side_bad"),
    ]


def side_from_buyer_maker(col: pl.Expr, dtype: pl.DataType | None = None) -> list[pl.Expr]:
    """Binance ``is_buyer_maker``: true means the seller was the aggressor."""
    if dtype == pl.Boolean:  # typed fast path: no text to look at
        side = pl.when(col).then(pl.lit(SIDE_SELL, pl.Int8)).otherwise(pl.lit(SIDE_BUY, pl.Int8))
        return [pl.when(col.is_not_null()).then(side).alias("side"), pl.lit(False).alias("side_bad")]
    text = col.cast(pl.String).str.strip_chars().str.to_lowercase()
    maker = text.is_in(["true", "1"])
    taker = text.is_in(["false", "0"])
    return [
        pl.when(maker).then(pl.lit(SIDE_SELL)).when(taker).then(pl.lit(SIDE_BUY)).cast(pl.Int8).alias("side"),
        (~(maker | taker) & text.is_not_null() & (text != "")).alias("side_bad"),
    ]


def epoch_column(batch: pl.DataFrame, name: str) -> pl.Expr:
    """:func:`epoch_to_ts` for a column of ``batch``, with one multiplication when every value has the same
    unit (the usual case) instead of a per-row choice."""
    dtype = batch.schema[name]
    if dtype.is_integer() and batch.height:
        low, high = batch.select(pl.col(name).min().alias("a"), pl.col(name).max().alias("b")).row(0)
        for floor, ceiling, factor in ((10**11, 10**14, 1000), (10**14, 10**17, 1)):
            if low is not None and floor <= low and high < ceiling:
                return (pl.col(name) * factor).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return epoch_to_ts(pl.col(name))


def epoch_to_ts(col: pl.Expr) -> pl.Expr:
    """Epoch integers to UTC µs time, the unit told per row by magnitude (s, ms, µs or ns).

    Seconds < 1e11 (year 5138), ms < 1e14, µs < 1e17; a file mixing units still reads right. Fractional
    seconds (Kraken's ``1381095255.1234``) come in as floats and are handled by :func:`seconds_to_ts`.
    """
    value = col.cast(pl.Int64, strict=False)
    micros = (
        pl.when(value < 100_000_000_000)
        .then(value * 1_000_000)
        .when(value < 100_000_000_000_000)
        .then(value * 1000)
        .when(value < 100_000_000_000_000_000)
        .then(value)
        .otherwise(value // 1000)
    )
    return micros.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def seconds_to_ts(col: pl.Expr) -> pl.Expr:
    """Float epoch seconds (``1381095255.1234``) to UTC µs time, rounded to the microsecond."""
    return (
        (col.cast(pl.Float64, strict=False) * 1_000_000)
        .round(0)
        .cast(pl.Int64)
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
    )


def quote_rows(batch: pl.DataFrame, base: list[pl.Expr], bid: pl.Expr, ask: pl.Expr) -> pl.DataFrame:
    """One row per side (bid, ask, and mid when both are there) from a frame of quote updates.

    Quote sizes are not traded volume: quote bars carry volume 0, the update count as ``trades``,
    no vwap and no buy/sell volume. A side missing from an update (null) gives no row for it.
    """
    frame = batch.select(*base, bid.alias("_bid"), ask.alias("_ask"))
    sides = [
        frame.filter(pl.col("_bid").is_not_null()).with_columns(price=pl.col("_bid"), price_side=pl.lit("bid")),
        frame.filter(pl.col("_ask").is_not_null()).with_columns(price=pl.col("_ask"), price_side=pl.lit("ask")),
        frame.filter(pl.col("_bid").is_not_null() & pl.col("_ask").is_not_null()).with_columns(
            price=(pl.col("_bid") + pl.col("_ask")) / 2, price_side=pl.lit("mid")
        ),
    ]
    # back in file order (stable: bid, ask, mid within a line), so time order checks see the file's order
    out = pl.concat(sides, how="diagonal_relaxed").drop("_bid", "_ask").sort("line", maintain_order=True).rechunk()
    return conform_trades(out.with_columns(size=pl.lit(0.0), bar_source=pl.lit("trades")))
