"""Trades -> per-minute partial aggregates -> 1-minute bars, column-wise in polars.

A *partial* summarises the trades of one (venue, symbol, price side, minute) that one slice of input
held: one batch of one file, one file, or many files merged. Partials merge exactly and in any order:
high/low/volume/counts are sums and extremes, and open/close keep the time (and trade id, file and
line) of the trade they came from, so merging picks the earliest/latest trade of the union. That one
rule makes out-of-core reading (batches of a big file), several files in a batch, and a minute split
across files that arrive in any order all give the bar of the union of their trades.

Order of trades: by exchange time, then trade id, then file path, then line in the file.
"""

from __future__ import annotations

import polars as pl

from core.trades.frame import SIDE_BUY, SIDE_SELL

KEYS = ["venue", "symbol", "price_side", "ts"]
PARTIAL_SCHEMA: dict[str, pl.DataType] = {
    "venue": pl.String(),
    "symbol": pl.String(),
    "price_side": pl.String(),
    "ts": pl.Datetime("ms", "UTC"),
    "path": pl.String(),
    "source_id": pl.UInt64(),
    "bar_source": pl.String(),
    "first_ts": pl.Datetime("us", "UTC"),
    "first_id": pl.Int64(),
    "first_line": pl.UInt32(),
    "open": pl.Float64(),
    "last_ts": pl.Datetime("us", "UTC"),
    "last_id": pl.Int64(),
    "last_line": pl.UInt32(),
    "close": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "volume": pl.Float64(),
    "quote_volume": pl.Float64(),
    "trades": pl.UInt64(),
    "buy_volume": pl.Float64(),
    "sell_volume": pl.Float64(),
    "unknown_volume": pl.Float64(),
    "unknown_trades": pl.UInt64(),
}
_FIRST_ORDER = ["first_ts", "first_id", "path", "first_line"]
_LAST_ORDER = ["last_ts", "last_id", "path", "last_line"]


def _in_trade_order(trades: pl.DataFrame) -> bool:
    """True when rows already run in (time, id) order, so the first row of a minute is its open."""
    if trades.height < 2:
        return True
    step = pl.col("ts").diff()
    ok = (step > 0) | ((step == 0) & (pl.col("trade_id").diff().fill_null(0) >= 0))
    return bool(trades.select(ok.slice(1).all()).item())


def _constant(trades: pl.DataFrame, column: str) -> bool:
    """One value in the whole column (the usual batch: a file's venue, symbol and side), so it need not be a
    group key (grouping on integers alone is several times faster than on strings)."""
    col = trades.get_column(column)
    return trades.height > 0 and col.null_count() == 0 and bool((col == col[0]).all())


def minute_partials(trades: pl.DataFrame, path: str, source_id: int) -> pl.DataFrame:
    """Partials of one slice of one file's clean trades (venue and symbol already filled)."""
    if not _in_trade_order(trades):
        trades = trades.sort("ts", "trade_id", "line", nulls_last=False)
    size, side, count = pl.col("size"), pl.col("side"), pl.col("count")
    minute = (pl.col("ts").dt.epoch("us") // 60_000_000).alias("_minute")
    constant = [k for k in ("venue", "symbol", "price_side") if _constant(trades, k)]
    keys = [pl.col(k) for k in ("venue", "symbol", "price_side") if k not in constant]
    flows = trades.select(
        *keys,
        minute,
        "ts",
        "trade_id",
        "line",
        "price",
        "bar_source",
        size,
        count,
        (pl.col("price") * size).alias("_pv"),
        pl.when(side == SIDE_BUY).then(size).otherwise(0.0).alias("_buy"),
        pl.when(side == SIDE_SELL).then(size).otherwise(0.0).alias("_sell"),
        pl.when(side.is_null()).then(size).otherwise(0.0).alias("_unknown"),
        pl.when(side.is_null()).then(count).otherwise(0).alias("_unknown_n"),
    )
    partials = flows.group_by(*keys, "_minute").agg(
        pl.col("bar_source").first(),
        pl.col("ts").first().alias("first_ts"),
        pl.col("trade_id").first().alias("first_id"),
        pl.col("line").first().alias("first_line"),
        pl.col("price").first().alias("open"),
        pl.col("ts").last().alias("last_ts"),
        pl.col("trade_id").last().alias("last_id"),
        pl.col("line").last().alias("last_line"),
        pl.col("price").last().alias("close"),
        pl.col("price").max().alias("high"),
        pl.col("price").min().alias("low"),
        pl.col("size").sum().alias("volume"),
        pl.col("_pv").sum().alias("quote_volume"),
        pl.col("count").sum().alias("trades"),
        pl.col("_buy").sum().alias("buy_volume"),
        pl.col("_sell").sum().alias("sell_volume"),
        pl.col("_unknown").sum().alias("unknown_volume"),
        pl.col("_unknown_n").sum().alias("unknown_trades"),
    )
    first = trades.row(0, named=True) if trades.height else {}
    return partials.with_columns(
        *(pl.lit(first[k], pl.String).alias(k) for k in constant),
        (pl.col("_minute") * 60_000).cast(pl.Datetime("ms", "UTC")).alias("ts"),
        pl.lit(path).alias("path"),
        pl.lit(source_id, pl.UInt64).alias("source_id"),
    ).select([pl.col(name).cast(dtype) for name, dtype in PARTIAL_SCHEMA.items()])


def empty_partials() -> pl.DataFrame:
    return pl.DataFrame(schema=PARTIAL_SCHEMA)


def merge_partials(partials: pl.DataFrame) -> pl.DataFrame:
    """Merge partials of the same key into one: the summary of the union of their trades.

    Associative and commutative up to float summation order (sums may differ in the last bits), so
    merging batches, files, or files arriving in any order gives the same result.
    """
    if partials.height == 0:
        return partials.select(list(PARTIAL_SCHEMA))

    def first(c: str) -> pl.Expr:
        return pl.col(c).sort_by(_FIRST_ORDER, nulls_last=False).first()

    def last(c: str) -> pl.Expr:
        return pl.col(c).sort_by(_LAST_ORDER, nulls_last=False).last()

    merged = partials.group_by(KEYS).agg(
        first("path"),
        pl.col("source_id").min(),
        pl.col("bar_source").first(),
        *(first(c) for c in ("first_ts", "first_id", "first_line", "open")),
        *(last(c) for c in ("last_ts", "last_id", "last_line", "close")),
        pl.col("high").max(),
        pl.col("low").min(),
        *(pl.col(c).sum() for c in ("volume", "quote_volume", "trades")),
        *(pl.col(c).sum() for c in ("buy_volume", "sell_volume", "unknown_volume", "unknown_trades")),
    )
    return merged.select(list(PARTIAL_SCHEMA)).sort(KEYS)


def partials_to_bars(partials: pl.DataFrame, version: int) -> pl.DataFrame:
    """Bars (``bars_1m`` columns) from merged partials: one per key.

    buy/sell volume are null when any trade of the minute had no aggressor side (never guessed);
    vwap = sum(price x size) / sum(size), null without volume (quote bars); quote volume NaN there.
    """
    known_sides = pl.col("unknown_trades") == 0
    has_volume = pl.col("volume") > 0
    return partials.select(
        "venue",
        "symbol",
        "ts",
        "open",
        "high",
        "low",
        "close",
        "volume",
        pl.col("trades").clip(0, 2**32 - 1).cast(pl.UInt32),
        pl.when(has_volume).then(pl.col("quote_volume")).otherwise(float("nan")).alias("quote_volume"),
        "source_id",
        pl.lit(version, pl.UInt64).alias("version"),
        pl.when(known_sides).then(pl.col("buy_volume")).alias("buy_volume"),
        pl.when(known_sides).then(pl.col("sell_volume")).alias("sell_volume"),
        pl.when(has_volume & pl.col("quote_volume").is_not_nan())
        .then(pl.col("quote_volume") / pl.col("volume"))
        .alias("vwap"),
        "price_side",
        "bar_source",
    )


def trades_to_bars(trades: pl.DataFrame, version: int = 0, path: str = "", source_id: int = 0) -> pl.DataFrame:
    """Bars straight from one frame of clean trades (the reference the split property is checked against)."""
    return partials_to_bars(merge_partials(minute_partials(trades, path, source_id)), version)
