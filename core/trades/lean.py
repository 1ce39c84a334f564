"""QuantConnect LEAN zips: trade and quote ticks, and minute trade/quote candles.

LEAN keeps what a row means in the path: ``<type>/<market>/<resolution>/<ticker>/<YYYYMMDD>_<trade|quote>.zip``
holding ``<YYYYMMDD>_<ticker>_Trade_Tick.csv`` (or ``_Quote_Tick``), no header. Times are milliseconds
since midnight in the market's *data* time zone: America/New_York for equity, UTC for forex and crypto
(LEAN's market-hours database). Equity prices are deci-cents (÷ 10,000). Ticks flagged ``suspicious``
are not trades to build bars from (LEAN's own trade bars skip them): they are quarantined with a reason.
A quote price of 0 means "no quote on that side" and gives no row for that side.

Without the directory layout the security type (and so zone and price scale) is unknown: the file is
refused with that reason, never read in a guessed zone.
"""

from __future__ import annotations

import re
from pathlib import PurePath

import polars as pl

from core.errors import UnreadableFileError
from core.trades.candles import conform_candles
from core.trades.frame import TRADE_TS, conform_trades, quote_rows
from core.trades.spec import Layout, LayoutOf, Sniff, TradeFormat, TradeHead

_MEMBER = re.compile(
    r"^(?P<date>\d{8})_(?P<ticker>[A-Za-z0-9.]+)_(?P<res>minute_|second_)?(?P<kind>trade|quote)(?P<tick>_tick)?\.csv$",
    re.IGNORECASE,
)
_TYPES = ("equity", "forex", "crypto", "cfd", "future", "option", "index", "cryptofuture")
_ZONE = {"equity": "America/New_York", "option": "America/New_York", "index": "America/New_York"}


def _member(head: TradeHead) -> re.Match[str] | None:
    return _MEMBER.match(PurePath(head.member).name) if head.member else None


def security(head: TradeHead) -> tuple[str, str]:
    """(security type, market) from the LEAN directory layout around the file."""
    parts = [p.lower() for p in PurePath(head.path).parts]
    for i, part in enumerate(parts[:-3]):
        if part in _TYPES:
            return part, parts[i + 1]
    raise UnreadableFileError(
        "LEAN file outside its Data/<type>/<market>/<resolution>/<ticker>/ layout: cannot tell the time zone "
        "and price scale of its rows; keep the LEAN directory layout"
    )


def _identity(head: TradeHead) -> tuple[str | None, str | None]:
    match = _member(head)
    _, market = security(head)
    return market, match.group("ticker").upper() if match else None


def zone_of(head: TradeHead) -> str:
    """The data time zone of a LEAN file (from its path)."""
    return _ZONE.get(security(head)[0], "UTC")


def _ts(head: TradeHead) -> pl.Expr:
    match = _member(head)
    assert match is not None
    kind, _ = security(head)
    zone = _ZONE.get(kind, "UTC")
    day = pl.lit(match.group("date")).str.to_datetime("%Y%m%d", time_unit="us")
    millis = pl.col("time").cast(pl.Float64, strict=False)
    local = day + pl.duration(microseconds=(millis * 1000).round(0).cast(pl.Int64))
    return (
        local.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .cast(TRADE_TS)
    )


def _scale(head: TradeHead) -> float:
    return 10_000.0 if security(head)[0] == "equity" else 1.0


def _price(col: str, head: TradeHead) -> pl.Expr:
    """Deci-cents to dollars in decimal arithmetic: a float division by 10,000 over a column is done as a
    multiplication by 1e-4 and lands one ulp off (182.10000000000002 for 1821000)."""
    if _scale(head) == 1.0:
        return pl.col(col).cast(pl.Float64, strict=False)
    exact = pl.col(col).cast(pl.String).str.strip_chars().cast(pl.Decimal(38, 8), strict=False)
    return (exact / pl.lit(10_000).cast(pl.Decimal(38, 0))).cast(pl.Float64)


_TRADE_COLUMNS = {
    3: ("time", "price", "quantity"),
    6: ("time", "price", "quantity", "exchange", "sale_condition", "suspicious"),
}
_QUOTE_COLUMNS = {
    3: ("time", "bidprice", "askprice"),
    5: ("time", "bidprice", "bidsize", "askprice", "asksize"),
    8: ("time", "bidprice", "bidsize", "askprice", "asksize", "exchange", "sale_condition", "suspicious"),
}


def _sniff(kind: str, tick: bool) -> Sniff:
    def sniff(head: TradeHead) -> bool:
        match = _member(head)
        return bool(match and match.group("kind").lower() == kind and bool(match.group("tick")) == tick)

    return sniff


_MINUTE_TRADE = ("time", "open", "high", "low", "close", "volume")
_MINUTE_QUOTE = (
    "time",
    "bidopen",
    "bidhigh",
    "bidlow",
    "bidclose",
    "lastbidsize",
    "askopen",
    "askhigh",
    "asklow",
    "askclose",
    "lastasksize",
)


def _minute_trades(batch: pl.DataFrame, head: TradeHead) -> pl.DataFrame:
    return conform_candles(
        batch.select(
            "line",
            _ts(head).alias("ts"),
            *(_price(c, head).alias(c) for c in ("open", "high", "low", "close")),
            pl.col("volume").cast(pl.Float64, strict=False),
            pl.lit("trade").alias("price_side"),
        )
    )


def _minute_quotes(batch: pl.DataFrame, head: TradeHead) -> pl.DataFrame:
    """Bid and ask candles; a side with no close (empty or 0: no quote that minute) gives no row."""
    sides = []
    for side in ("bid", "ask"):
        frame = batch.select(
            "line",
            _ts(head).alias("ts"),
            *(_price(f"{side}{c}", head).alias(c) for c in ("open", "high", "low", "close")),
            pl.lit(side).alias("price_side"),
        )
        sides.append(frame.filter(pl.col("close").is_not_null() & (pl.col("close") != 0)))
    return conform_candles(pl.concat(sides, how="vertical").sort("line", maintain_order=True))


def _layout(columns: dict[int, tuple[str, ...]]) -> LayoutOf:
    def layout(head: TradeHead) -> Layout:
        width = len(head.fields())
        if width not in columns:
            raise UnreadableFileError(f"LEAN tick file with {width} columns; expected {sorted(columns)}")
        security(head)  # refuse early when the layout does not say the zone
        return Layout("csv", columns[width], 0, {})

    return layout


def _flagged(batch: pl.DataFrame) -> pl.Expr:
    if "suspicious" not in batch.columns:
        return pl.lit(False).alias("flagged")
    return (pl.col("suspicious").cast(pl.String).str.strip_chars().is_in(["1", "true", "True"])).alias("flagged")


def _trades(batch: pl.DataFrame, head: TradeHead) -> pl.DataFrame:
    return conform_trades(
        batch.select(
            "line",
            _ts(head).alias("ts"),
            _price("price", head).alias("price"),
            pl.col("quantity").cast(pl.Float64, strict=False).alias("size"),
            _flagged(batch),
        )
    )


def _quotes(batch: pl.DataFrame, head: TradeHead) -> pl.DataFrame:
    bid, ask = _price("bidprice", head), _price("askprice", head)
    return quote_rows(
        batch,
        [pl.col("line"), _ts(head).alias("ts"), _flagged(batch)],
        pl.when(bid != 0).then(bid),
        pl.when(ask != 0).then(ask),
    )


FORMATS: tuple[TradeFormat, ...] = (
    TradeFormat("lean-trade-ticks", None, _sniff("trade", True), _layout(_TRADE_COLUMNS), _trades, _identity),
    TradeFormat("lean-quote-ticks", None, _sniff("quote", True), _layout(_QUOTE_COLUMNS), _quotes, _identity),
    TradeFormat(
        "lean-minute-trades", None, _sniff("trade", False), _layout({6: _MINUTE_TRADE}), _minute_trades, _identity
    ),
    TradeFormat(
        "lean-minute-quotes", None, _sniff("quote", False), _layout({11: _MINUTE_QUOTE}), _minute_quotes, _identity
    ),
)
