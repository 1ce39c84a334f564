"""Trade and quote readers per vendor, recognised by content (the first line, or Parquet columns).

| format              | recognised by                                                                  |
|---------------------|--------------------------------------------------------------------------------|
| tardis-trades       | header ``exchange,symbol,timestamp,local_timestamp,id,side,price,amount`` (µs) |
| tardis-quotes       | header ``exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,…``    |
| binance-trades      | ``id,price,qty,quote_qty,time,is_buyer_maker[,is_best_match]``, header or not  |
| binance-aggtrades   | ``agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,…``   |
| kraken-trades       | headerless ``time,price,volume`` with epoch seconds                            |
| freqtrade-trades    | JSON list of lists (``.json``/``.json.gz``) or CSV ``timestamp,id,type,side,…``|
| nautilus-trades     | Parquet with ``price``, ``size``, ``aggressor_side``, ``ts_event``             |
| generic-trades      | CSV header naming a time, a price and a size/amount/qty/volume column          |
| generic-trades-parquet | Parquet with such columns (freqtrade's parquet trades: timestamp/side/price/amount) |
| generic-quotes      | CSV header naming a time, a bid and an ask column (sizes optional)             |
| lean-*              | QuantConnect LEAN zips (see :mod:`core.trades.lean`)                           |
"""

from __future__ import annotations

import polars as pl

from core.trades import lean
from core.trades.frame import (
    conform_trades,
    epoch_column,
    epoch_to_ts,
    quote_rows,
    seconds_to_ts,
    side_from_buyer_maker,
    side_from_text,
)
from core.trades.spec import Layout, LayoutOf, Sniff, TradeFormat, TradeHead, is_int, is_number

_BUY_WORDS = ("buy", "b", "bid", "1")
_SELL_WORDS = ("sell", "s", "ask", "-1", "2")
_UNKNOWN_WORDS = ("unknown", "none", "null", "0", "n", "")


def trade_id(col: str, batch: pl.DataFrame | None = None) -> pl.Expr:
    """Numeric ids as they are; other ids (UUIDs) hashed to a stable Int64 (dedup still works)."""
    value = pl.col(col)
    if batch is not None and batch.schema[col].is_integer():
        return value.cast(pl.Int64).alias("trade_id")
    as_int = value.cast(pl.Int64, strict=False)
    hashed = value.cast(pl.String).hash(seed=0).reinterpret(signed=True)
    return pl.when(value.is_null()).then(None).otherwise(pl.coalesce(as_int, hashed)).alias("trade_id")


def _num(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.Float64, strict=False)


def _venue_text(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.String).str.to_lowercase().str.replace_all(r"[^a-z0-9_]", "_").alias("venue")


# --- Tardis.dev normalised CSVs -------------------------------------------------------------------

_TARDIS_TRADES = ("exchange", "symbol", "timestamp", "local_timestamp", "id", "side", "price", "amount")
_TARDIS_QUOTES = (
    "exchange",
    "symbol",
    "timestamp",
    "local_timestamp",
    "ask_amount",
    "ask_price",
    "bid_price",
    "bid_amount",
)


def _tardis_trades(batch: pl.DataFrame, head: TradeHead) -> pl.DataFrame:
    return conform_trades(
        batch.select(
            "line",
            epoch_column(batch, "timestamp").alias("ts"),
            _num("price").alias("price"),
            _num("amount").alias("size"),
            *side_from_text(pl.col("side"), ("buy",), ("sell",), ("unknown", "")),
            trade_id("id", batch),
            _venue_text("exchange"),
            pl.col("symbol").cast(pl.String).str.to_uppercase().alias("symbol"),
        )
    )


def _tardis_quotes(batch: pl.DataFrame, head: TradeHead) -> pl.DataFrame:
    base = [
        pl.col("line"),
        epoch_column(batch, "timestamp").alias("ts"),
        _venue_text("exchange"),
        pl.col("symbol").cast(pl.String).str.to_uppercase().alias("symbol"),
    ]
    return quote_rows(batch, base, _num("bid_price"), _num("ask_price"))


def _header_is(names: tuple[str, ...]) -> Sniff:
    return lambda head: tuple(head.header_names[: len(names)]) == names


def _with_header(names: tuple[str, ...], types: dict[str, pl.DataType], keep: tuple[str, ...] = ()) -> LayoutOf:
    return lambda head: Layout("csv", tuple(head.header_names), 1, types, keep)


# --- Binance data.binance.vision trades / aggTrades -------------------------------------------------

_BN_TRADES = ("id", "price", "qty", "quote_qty", "time", "is_buyer_maker", "is_best_match")
_BN_AGG = (
    "agg_trade_id",
    "price",
    "quantity",
    "first_trade_id",
    "last_trade_id",
    "transact_time",
    "is_buyer_maker",
    "is_best_match",
)
_BOOL = ("true", "false")


def _binance_trades_sniff(head: TradeHead) -> bool:
    if head.header_names[:3] == ["id", "price", "qty"]:
        return True
    f = head.fields()
    return len(f) in (6, 7) and is_int(f[0]) and is_number(f[1]) and is_int(f[4], (12, 17)) and f[5].lower() in _BOOL


def _binance_agg_sniff(head: TradeHead) -> bool:
    if head.header_names[:2] in (["agg_trade_id", "price"], ["a", "p"]):
        return True
    f = head.fields()
    return (
        len(f) in (7, 8)
        and is_int(f[0])
        and is_int(f[3])
        and is_int(f[4])
        and is_int(f[5], (12, 17))
        and f[6].lower() in _BOOL
    )


def _binance_layout(names: tuple[str, ...]) -> LayoutOf:
    def layout(head: TradeHead) -> Layout:
        header = not is_int(head.fields()[0])
        width = len(head.fields())
        types: dict[str, pl.DataType] = {
            n: pl.Int64() for n in names if n.endswith("id") or n in ("time", "transact_time")
        }
        types |= {n: pl.Float64() for n in ("price", "qty", "quantity")}
        types["is_buyer_maker"] = pl.Boolean()
        keep = tuple(n for n in names[:width] if n not in ("quote_qty", "is_best_match"))
        return Layout("csv", names[:width], 1 if header else 0, types, keep)

    return layout


def _binance_trades(batch: pl.DataFrame, head: TradeHead) -> pl.DataFrame:
    return conform_trades(
        batch.select(
            "line",
            epoch_column(batch, "time").alias("ts"),
            _num("price").alias("price"),
            _num("qty").alias("size"),
            *side_from_buyer_maker(pl.col("is_buyer_maker"), batch.schema["is_buyer_maker"]),
            trade_id("id", batch),
        )
    )


def _binance_agg(batch: pl.DataFrame, head: TradeHead) -> pl.DataFrame:
    first, last = (
        pl.col("first_trade_id").cast(pl.Int64, strict=False),
        pl.col("last_trade_id").cast(pl.Int64, strict=False),
    )
    return conform_trades(
        batch.select(
            "line",
            epoch_column(batch, "transact_time").alias("ts"),
            _num("price").alias("price"),
            _num("quantity").alias("size"),
            *side_from_buyer_maker(pl.col("is_buyer_maker"), batch.schema["is_buyer_maker"]),
            trade_id("agg_trade_id", batch),
            # one aggTrade row is (last - first + 1) exchange trades at one price: the bar counts trades
            pl.when(last >= first).then(last - first + 1).otherwise(1).alias("count"),
        )
    )


# --- Kraken trade history CSV: time,price,volume (epoch seconds, no header, no side) -----------------


def _kraken_sniff(head: TradeHead) -> bool:
    f = head.fields()
    return (
        len(f) == 3
        and all(is_number(x) for x in f)
        and 9 <= len(f[0].split(".")[0]) <= 10
        and not head.member  # LEAN's 3-column ticks live in zips
    )


def _kraken(batch: pl.DataFrame, head: TradeHead) -> pl.DataFrame:
    return conform_trades(
        batch.select(
            "line",
            seconds_to_ts(pl.col("time")).alias("ts"),
            _num("price").alias("price"),
            _num("volume").alias("size"),
        )
    )


# --- freqtrade trade dumps: [timestamp, id, type, side, price, amount, cost] -------------------------

FREQTRADE_COLUMNS = ("timestamp", "id", "type", "side", "price", "amount", "cost")


def _freqtrade_sniff(head: TradeHead) -> bool:
    text = head.text.lstrip()
    if text.startswith("[[") or text.startswith("[\n") or text == "[]":
        return True
    return head.header_names[:4] == ["timestamp", "id", "type", "side"]


def _freqtrade_layout(head: TradeHead) -> Layout:
    if head.text.lstrip().startswith("["):
        return Layout("json", FREQTRADE_COLUMNS)
    return Layout(
        "csv", tuple(head.header_names), 1, {"timestamp": pl.Int64(), "price": pl.Float64(), "amount": pl.Float64()}
    )


def _freqtrade(batch: pl.DataFrame, head: TradeHead) -> pl.DataFrame:
    return conform_trades(
        batch.select(
            "line",
            epoch_to_ts(pl.col("timestamp")).alias("ts"),
            _num("price").alias("price"),
            _num("amount").alias("size"),
            *side_from_text(pl.col("side"), ("buy",), ("sell",), ("",)),
            trade_id("id"),
        )
    )


# --- Nautilus TradeTick Parquet ---------------------------------------------------------------------

_NAUTILUS_SCALE = {8: 1e9, 16: 1e16}  # raw fixed-point: int64 standard precision, 128-bit high precision


def _nautilus_sniff(head: TradeHead) -> bool:
    return {"price", "size", "aggressor_side", "ts_event"} <= set(head.parquet_columns)


def _nautilus_number(col: str, batch: pl.DataFrame) -> pl.Expr:
    dtype = batch.schema[col]
    if dtype.is_float() or dtype == pl.String:
        return pl.col(col).cast(pl.Float64, strict=False)
    if dtype.is_integer():  # raw fixed-point (standard precision: 9 decimals)
        return pl.col(col).cast(pl.Float64) / 1e9
    if dtype == pl.Binary:  # 16-byte little-endian raw (high precision: 16 decimals)
        return pl.col(col).bin.reinterpret(dtype=pl.Int128, endianness="little").cast(pl.Float64) / 1e16
    return pl.col(col).cast(pl.Float64, strict=False)


def _nautilus(batch: pl.DataFrame, head: TradeHead) -> pl.DataFrame:
    side = pl.col("aggressor_side").cast(pl.String).str.to_uppercase()
    exprs = [
        pl.col("line"),
        epoch_to_ts(pl.col("ts_event")).alias("ts"),
        _nautilus_number("price", batch).alias("price"),
        _nautilus_number("size", batch).alias("size"),
        pl.when(side.is_in(["1", "BUYER"]))
        .then(1)
        .when(side.is_in(["2", "SELLER"]))
        .then(-1)
        .cast(pl.Int8)
        .alias("side"),
        (~side.is_in(["0", "1", "2", "BUYER", "SELLER", "NO_AGGRESSOR"]) & side.is_not_null()).alias("side_bad"),
    ]
    if "trade_id" in batch.columns:
        exprs.append(trade_id("trade_id"))
    return conform_trades(batch.select(exprs))


def _nautilus_identity(head: TradeHead) -> tuple[str | None, str | None]:
    """``instrument_id`` metadata like ``BTCUSDT-PERP.BINANCE`` -> (binance, BTCUSDT-PERP)."""
    instrument = head.parquet_metadata.get("instrument_id", "")
    if "." not in instrument:
        return None, None
    symbol, venue = instrument.rsplit(".", 1)
    return venue.lower(), symbol.upper()


# --- generic CSVs with a header -----------------------------------------------------------------------

_TIME = ("timestamp", "time", "ts", "datetime", "date_time", "gmt time", "local time", "date")
_PRICE = ("price", "last", "trade_price")
_SIZE = ("size", "amount", "qty", "quantity", "volume", "vol")
_SIDE = ("side", "aggressor", "aggressor_side", "taker_side")
_ID = ("id", "trade_id", "tid")
_BID = ("bid", "bid_price", "bidprice", "best_bid")
_ASK = ("ask", "ask_price", "askprice", "best_ask", "offer")


def _pick(names: list[str], aliases: tuple[str, ...]) -> str | None:
    return next((a for a in aliases if a in names), None)


def _generic_trades_sniff(head: TradeHead) -> bool:
    names = head.header_names
    return all(_pick(names, group) for group in (_TIME, _PRICE, _SIZE)) and not _pick(names, ("open",))


def _generic_quotes_sniff(head: TradeHead) -> bool:
    names = head.header_names
    return all(_pick(names, group) for group in (_TIME, _BID, _ASK))


def parse_time(col: str, batch: pl.DataFrame) -> pl.Expr:
    """Integers are epochs (unit per row by magnitude), decimals epoch seconds; text is ISO-8601 (UTC unless
    it says otherwise) or Dukascopy's ``dd.mm.yyyy HH:MM:SS.fff`` (day first, told by the dots)."""
    dtype = batch.schema[col]
    if isinstance(dtype, pl.Datetime):  # Parquet timestamps: naive ones are UTC
        typed = pl.col(col).dt.cast_time_unit("us")
        return (typed.dt.convert_time_zone("UTC") if dtype.time_zone else typed.dt.replace_time_zone("UTC")).alias(col)
    if dtype.is_integer():
        return epoch_column(batch, col)
    if dtype.is_float():
        return seconds_to_ts(pl.col(col))
    text = pl.col(col).cast(pl.String).str.strip_chars()
    epoch = epoch_to_ts(text.cast(pl.Int64, strict=False))
    number = text.cast(pl.Float64, strict=False)
    fractional = pl.when(number < 1e11).then(seconds_to_ts(number))  # "1381095255.1234": epoch seconds
    dotted = text.str.to_datetime("%d.%m.%Y %H:%M:%S%.f", time_unit="us", strict=False).dt.replace_time_zone("UTC")
    iso = (
        text.str.replace(" ", "T")
        .str.replace(r"Z$", "+00:00")
        .str.to_datetime(time_unit="us", time_zone="UTC", strict=False)
    )
    return pl.coalesce(epoch, fractional, dotted, iso)


def _generic_trades(batch: pl.DataFrame, head: TradeHead) -> pl.DataFrame:
    names = batch.columns
    exprs = [
        pl.col("line"),
        parse_time(_pick(names, _TIME) or "", batch).alias("ts"),
        _num(_pick(names, _PRICE) or "").alias("price"),
        _num(_pick(names, _SIZE) or "").alias("size"),
    ]
    if side := _pick(names, _SIDE):
        exprs += side_from_text(pl.col(side), _BUY_WORDS, _SELL_WORDS, _UNKNOWN_WORDS)
    if ident := _pick(names, _ID):
        exprs.append(trade_id(ident))
    return conform_trades(batch.select(exprs))


def _generic_quotes(batch: pl.DataFrame, head: TradeHead) -> pl.DataFrame:
    names = batch.columns
    base = [pl.col("line"), parse_time(_pick(names, _TIME) or "", batch).alias("ts")]
    return quote_rows(batch, base, _num(_pick(names, _BID) or ""), _num(_pick(names, _ASK) or ""))


def _generic_parquet_sniff(head: TradeHead) -> bool:
    names = [c.lower() for c in head.parquet_columns]
    return bool(names) and all(_pick(names, group) for group in (_TIME, _PRICE, _SIZE)) and not _pick(names, ("open",))


def _generic_parquet(batch: pl.DataFrame, head: TradeHead) -> pl.DataFrame:
    return _generic_trades(batch.rename({c: c.lower() for c in batch.columns if c != "line"}), head)


def _text_header(head: TradeHead) -> Layout:
    return Layout("csv", tuple(head.header_names), 1, {})


FORMATS: tuple[TradeFormat, ...] = (
    TradeFormat(
        "tardis-trades",
        None,
        _header_is(_TARDIS_TRADES),
        _with_header(
            _TARDIS_TRADES,
            {"timestamp": pl.Int64(), "price": pl.Float64(), "amount": pl.Float64(), "id": pl.Int64()},
            ("exchange", "symbol", "timestamp", "id", "side", "price", "amount"),
        ),
        _tardis_trades,
    ),
    TradeFormat(
        "tardis-quotes",
        None,
        _header_is(_TARDIS_QUOTES),
        _with_header(_TARDIS_QUOTES, {"timestamp": pl.Int64(), "bid_price": pl.Float64(), "ask_price": pl.Float64()}),
        _tardis_quotes,
    ),
    TradeFormat("binance-trades", "binance", _binance_trades_sniff, _binance_layout(_BN_TRADES), _binance_trades),
    TradeFormat("binance-aggtrades", "binance", _binance_agg_sniff, _binance_layout(_BN_AGG), _binance_agg),
    *lean.FORMATS,
    TradeFormat(
        "kraken-trades",
        "kraken",
        _kraken_sniff,
        lambda head: Layout("csv", ("time", "price", "volume"), 0, {"price": pl.Float64(), "volume": pl.Float64()}),
        _kraken,
    ),
    TradeFormat("freqtrade-trades", None, _freqtrade_sniff, _freqtrade_layout, _freqtrade),
    TradeFormat(
        "nautilus-trades", None, _nautilus_sniff, lambda head: Layout("parquet"), _nautilus, _nautilus_identity
    ),
    TradeFormat("generic-quotes", None, _generic_quotes_sniff, _text_header, _generic_quotes),
    TradeFormat(
        "generic-trades-parquet", None, _generic_parquet_sniff, lambda head: Layout("parquet"), _generic_parquet
    ),
    TradeFormat("generic-trades", None, _generic_trades_sniff, _text_header, _generic_trades),
)
BY_NAME = {f.name: f for f in FORMATS}
FAMILY = "trades"


# Vendor minute candles are bar files: the bar readers (core/formats) own them; here only by explicit name.
BY_NAME_ONLY = frozenset({"lean-minute-trades", "lean-minute-quotes"})


def detect(head: TradeHead) -> TradeFormat | None:
    """The first trade/quote format whose sniff accepts ``head``, or None (not a trade file)."""
    for fmt in FORMATS:
        if fmt.name in BY_NAME_ONLY:
            continue
        try:
            if fmt.sniff(head):
                return fmt
        except (IndexError, ValueError):
            continue
    return None
