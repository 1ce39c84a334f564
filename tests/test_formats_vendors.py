"""Each reader on small hand-written files that follow its vendor's documented layout, and each way of refusing.

Layouts: MetaTrader 4 History Center and MT5 Export Bars, Kraken OHLCVT, QuantConnect LEAN ``Data/*/readme.md``,
FXCM candle data, Dukascopy exports, Binance klines, generic CSV variants (header aliases, BOM, CRLF, quoted
lines, pandas index column, separators) and compressed inputs.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile
from datetime import UTC, datetime

import polars as pl
import pytest
import zstandard

from core.errors import ConfigError, UnreadableFileError
from core.formats import ReaderOptions, SourceFile, read_bars
from core.formats.protocol import ReadResult
from core.formats.registry import check_one_minute, choose_reader, interval_label

BARS = [  # (minute, open, high, low, close, volume)
    (0, 1.5, 2.0, 1.0, 1.75, 10.0),
    (1, 1.75, 2.5, 1.5, 2.0, 11.0),
    (2, 2.0, 2.25, 1.25, 1.5, 12.0),
]


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _read(name: str, data: bytes | str, path: str = "", **options: object) -> ReadResult:
    raw = data.encode() if isinstance(data, str) else data
    return read_bars(SourceFile(name, raw, path or f"/landing/{name}"), ReaderOptions(**options))  # type: ignore[arg-type]


def _rows(result: ReadResult) -> list[tuple[object, ...]]:
    return result.frame.select("ts", "open", "high", "low", "close", "volume").rows()


def _expected(start: datetime, sides: int = 1) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = [
        (start.replace(minute=start.minute + m), o, h, low, c, v) for m, o, h, low, c, v in BARS
    ]
    return rows * sides


def _lines(fmt: str, stamp: str, sep: str = ",", eol: str = "\n") -> str:
    return "".join(
        fmt.format(t=stamp.format(m=m), o=o, h=h, l=low, c=c, v=v, sep=sep) + eol for m, o, h, low, c, v in BARS
    )


# --- generic CSV -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "row", "stamp"),
    [
        ("timestamp,open,high,low,close,volume", "{t},{o},{h},{l},{c},{v}", "2024-03-01T10:0{m}:00Z"),
        ("time,open,high,low,close,volume", "{t},{o},{h},{l},{c},{v}", "2024-03-01 11:0{m}:00+01:00"),
        ("Gmt time,Open,High,Low,Close,Vol", "{t},{o},{h},{l},{c},{v}", "2024-03-01 10:0{m}:00"),
        ("DATE,TIME,OPEN,HIGH,LOW,LAST,VOLUME", "{t},{o},{h},{l},{c},{v}", "2024.03.01,10:0{m}"),
        ("<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>", "{t},{o},{h},{l},{c},{v}", "20240301,10:0{m}:00"),
        ("Local time,Close,Open,Low,High,Volume", "{t},{c},{o},{l},{h},{v}", "2024-03-01 11:0{m}:00 GMT+0100"),
        (",Datetime,Open,High,Low,Close,Volume", "{m},{t},{o},{h},{l},{c},{v}", "2024-03-01 10:0{m}"),  # pandas
        ("ts,o,h,l,c,v", "{t},{o},{h},{l},{c},{v}", "170928720{m}"),  # epoch s: 2024-03-01 10:00
    ],
)
def test_generic_headers_aliases_and_time_layouts(header: str, row: str, stamp: str) -> None:
    if stamp.startswith("170928720"):
        stamp = "17092872{m}0"
        body = "".join(
            row.format(t=str(1709287200 + 60 * m), o=o, h=h, l=low, c=c, v=v, m=m) + "\n" for m, o, h, low, c, v in BARS
        )
    else:
        body = "".join(
            row.format(t=stamp.format(m=m), o=o, h=h, l=low, c=c, v=v, m=m) + "\n" for m, o, h, low, c, v in BARS
        )
    result = _read("EURUSD.csv", f"{header}\n{body}")
    assert _rows(result) == _expected(_utc(2024, 3, 1, 10))
    assert result.frame["line"].to_list() == [2, 3, 4]


@pytest.mark.parametrize("sep", ["\t", ";", "|"])
def test_generic_separators_bom_crlf_and_quotes(sep: str) -> None:
    header = sep.join(f'"{n}"' for n in ("Date", "Open", "High", "Low", "Close", "Volume"))
    body = _lines('"{t}"{sep}{o}{sep}{h}{sep}{l}{sep}{c}{sep}{v}', "2024-03-01 10:0{m}", sep, "\r\n")
    result = _read("X.csv", "\ufeff" + header + "\r\n" + body)
    assert _rows(result) == _expected(_utc(2024, 3, 1, 10))


def test_generic_decimal_comma_by_evidence_never_a_thousands_guess() -> None:
    body = (
        "Date;Open;High;Low;Close;Volume\n2024-03-01 10:00;1,5;2;1;1,75;1,234\n2024-03-01 10:01;1,75;2,5;1,5;2;1,200\n"
    )
    frame = _read("X.csv", body).frame
    assert frame.select("open", "high", "low", "close").rows() == [(1.5, 2.0, 1.0, 1.75), (1.75, 2.5, 1.5, 2.0)]
    # every volume is d,ddd: decimal comma or thousands separator cannot be told, so those rows stay unparsed
    assert frame["volume"].to_list() == [None, None] and frame["raw"].null_count() == 0


def test_a_symbol_column_names_the_instrument_and_several_are_refused() -> None:
    body = "ticker,window_start,open,high,low,close,volume,transactions\n" + "".join(
        f"X:BTC/USD,{1709287200000000000 + 60_000_000_000 * m},{o},{h},{low},{c},{v},7\n" for m, o, h, low, c, v in BARS
    )
    result = _read("2024-03-01.csv.gz", gzip.compress(body.encode()))
    assert (result.symbol, result.frame["trades"].to_list()) == ("XBTCUSD", [7, 7, 7])
    assert _rows(result) == _expected(_utc(2024, 3, 1, 10))
    with pytest.raises(UnreadableFileError, match="file holds 2 symbols in column 'ticker'"):
        _read("x.csv", body + "AAPL,1709287380000000000,1,2,0.5,1.5,1,1\n")


def test_banner_line_am_pm_and_volume_named_by_currency() -> None:
    body = "https://www.example.com/data\nunix,date,symbol,open,high,low,close,Volume BTC,Volume USD\n" + "".join(
        f"{1709287200 + 60 * m},3/1/2024 10:0{m}:00 AM,BTC/USD,{o},{h},{low},{c},{v},1\n" for m, o, h, low, c, v in BARS
    )
    result = _read("Bitstamp_BTCUSD_minute.csv", body)
    assert _rows(result) == _expected(_utc(2024, 3, 1, 10))
    assert result.frame["line"].to_list() == [3, 4, 5]
    pm = "Date,Time,Open,High,Low,Close\n03/13/2024,12:30 PM,1,2,0.5,1.5\n03/13/2024,12:31 PM,1,2,0.5,1.5\n"
    assert _read("X.csv", pm).frame["ts"][0] == _utc(2024, 3, 13, 12, 30)


def test_generic_naive_times_follow_the_zone_rules() -> None:
    body = "Date,Open,High,Low,Close,Volume\n" + _lines("{t},{o},{h},{l},{c},{v}", "2024-07-01 09:3{m}")
    defaulted = _read("X.csv", body)
    assert defaulted.zone_rule == "default_utc:UTC" and defaulted.zone_defaulted
    assert defaulted.frame["ts"][0] == _utc(2024, 7, 1, 9, 30)
    equity = _read("X.csv", body, venue="nyse")
    assert equity.zone_rule == "venue:America/New_York"
    assert equity.frame["ts"][0] == _utc(2024, 7, 1, 13, 30)  # EDT
    told = _read("X.csv", body, timezone="Europe/Berlin", venue="nyse")
    assert told.zone_rule == "option:Europe/Berlin" and not told.zone_defaulted
    assert told.frame["ts"][0] == _utc(2024, 7, 1, 7, 30)


@pytest.mark.parametrize(
    ("stamps", "order", "first"),
    [
        (["13/01/2024 00:00", "13/01/2024 00:01"], None, _utc(2024, 1, 13)),  # day > 12: day first
        (["01/13/2024 00:00", "01/13/2024 00:01"], None, _utc(2024, 1, 13)),  # day > 12: month first
        (["02/01/2024 00:00", "02/01/2024 00:01"], "dmy", _utc(2024, 1, 2)),
        (["02/01/2024 00:00", "02/01/2024 00:01"], "mdy", _utc(2024, 2, 1)),
        (["02.01.2024 00:00:00.000", "02.01.2024 00:01:00.000"], "dmy", _utc(2024, 1, 2)),
    ],
)
def test_date_order_from_evidence_or_the_operator(stamps: list[str], order: str | None, first: datetime) -> None:
    body = "Date,Open,High,Low,Close,Volume\n" + "".join(f"{s},1,2,0.5,1.5,1\n" for s in stamps)
    assert _read("X.csv", body, date_order=order).frame["ts"][0] == first


def test_ambiguous_date_order_is_refused_not_guessed() -> None:
    body = "Date,Open,High,Low,Close,Volume\n02/01/2024 00:00,1,2,0.5,1.5,1\n02/01/2024 00:01,1,2,0.5,1.5,1\n"
    with pytest.raises(UnreadableFileError, match=r"^ambiguous_date_order"):
        _read("X.csv", body)
    with pytest.raises(UnreadableFileError, match="contradicts the file"):
        _read("X.csv", body.replace("02/01/2024", "13/01/2024"), date_order="mdy")


@pytest.mark.parametrize(
    ("values", "unit"),
    [
        ([1709287200, 1709287260], "s"),
        ([1709287200000, 1709287260000], "ms"),
        ([1709287200000000, 1709287260000000], "µs"),
        ([1709287200000000000, 1709287260000000000], "ns"),
    ],
)
def test_epoch_units_by_magnitude(values: list[int], unit: str) -> None:
    body = "time,open,high,low,close,volume\n" + "".join(f"{v},1,2,0.5,1.5,1\n" for v in values)
    result = _read("X.csv", body)
    assert result.frame["ts"].to_list() == [_utc(2024, 3, 1, 10), _utc(2024, 3, 1, 10, 1)], unit
    assert result.zone_rule == "explicit:UTC"


def test_a_file_mixing_epoch_units_is_refused() -> None:
    body = "time,open,high,low,close,volume\n1709287200000,1,2,0.5,1.5,1\n1709287260,1,2,0.5,1.5,1\n"
    with pytest.raises(UnreadableFileError, match=r"^mixed_epoch_units \(s and ms"):
        _read("X.csv", body)
    binance = "1709287200000,1,2,0.5,1.5,1,1709287259999,1,1,1,1,0\n1709287260000000000,1,2,0.5,1.5,1,1,1,1,1,1,0\n"
    with pytest.raises(UnreadableFileError, match=r"^mixed_epoch_units \(ms and ns"):
        _read("BTCUSDT-1m-2024-03-01.csv", binance)


def test_offsets_mixed_with_naive_times_are_refused() -> None:
    body = "time,open,high,low,close\n2024-03-01 10:00:00Z,1,2,0.5,1.5\n2024-03-01 10:01:00,1,2,0.5,1.5\n"
    with pytest.raises(UnreadableFileError, match="some timestamps carry a UTC offset"):
        _read("X.csv", body)


def test_broken_rows_are_kept_with_their_line_and_text() -> None:
    body = "time,open,high,low,close,volume\n2024-03-01 10:00,1,2,0.5,1.5,1\n\n2024-03-01 10:01,x,2,0.5,1.5,1\n"
    frame = _read("X.csv", body).frame
    assert frame["line"].to_list() == [2, 4]
    assert frame["raw"].to_list() == [None, "2024-03-01 10:01,x,2,0.5,1.5,1"]


# --- vendor formats ----------------------------------------------------------------------------------------


def test_mt4_history_center_csv() -> None:
    result = _read("USDJPY1.csv", _lines("{t},{o},{h},{l},{c},{v}", "2024.03.01,10:0{m}", eol="\r\n"))
    assert (result.format, result.side, result.zone_rule) == ("mt4", "bid", "default_utc:UTC")
    assert _rows(result) == _expected(_utc(2024, 3, 1, 10))


@pytest.mark.parametrize("quoted", [False, True])
def test_mt5_export_bars_tab_and_quoted_line_variant(quoted: bool) -> None:
    header = "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>"
    rows = [f"2024.03.01\t10:0{m}:00\t{o}\t{h}\t{low}\t{c}\t{int(v)}\t0\t12" for m, o, h, low, c, v in BARS]
    lines = [header, *rows]
    text = "\r\n".join(f'"{line}"' if quoted else line for line in lines) + "\r\n"
    result = _read("US30m_M1_202403011000_202403011002.csv", text, timezone="UTC")
    assert (result.format, result.side, result.zone_rule) == ("mt5", "bid", "option:UTC")
    assert _rows(result) == _expected(_utc(2024, 3, 1, 10))
    assert any("<TICKVOL>" in n for n in result.notes)  # <VOL> all zero: tick volume used, and said so


def test_kraken_ohlcvt_one_minute() -> None:
    body = "".join(f"{1709287200 + 60 * m},{o},{h},{low},{c},{v},{m + 3}\n" for m, o, h, low, c, v in BARS)
    result = _read("XBTUSD_1.csv", body)
    assert (result.format, result.venue, result.zone_rule) == ("kraken", "kraken", "explicit:UTC")
    assert _rows(result) == _expected(_utc(2024, 3, 1, 10))
    assert result.frame["trades"].to_list() == [3, 4, 5]


def _zip(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_lean_equity_trade_bars_deci_cents_new_york() -> None:
    # 2024-03-01 is EST: 09:30 local = 14:30 UTC; ms since midnight 34,200,000
    body = "".join(
        f"{34_200_000 + 60_000 * m},{int(o * 10000)},{int(h * 10000)},{int(low * 10000)},{int(c * 10000)},{int(v)}\n"
        for m, o, h, low, c, v in BARS
    )
    data = _zip({"20240301_spy_minute_trade.csv": body})
    result = _read("20240301_trade.zip", data, path="/landing/equity/usa/minute/spy/20240301_trade.zip")
    assert (result.format, result.symbol, result.side, result.zone_rule) == (
        "lean",
        "SPY",
        "trade",
        "format:America/New_York",
    )
    assert _rows(result) == _expected(_utc(2024, 3, 1, 14, 30))


def test_lean_forex_quote_bars_give_both_sides_and_several_csvs_in_one_zip() -> None:
    def quote(day_ms: int) -> str:
        return "".join(
            f"{day_ms + 60_000 * m},{o},{h},{low},{c},0,{o + 1},{h + 1},{low + 1},{c + 1},0\r\n"
            for m, o, h, low, c, _ in BARS
        )

    data = _zip({"20240301_eurusd_minute_quote.csv": quote(36_000_000)})
    result = _read("20240301_quote.zip", data, path="/d/forex/oanda/minute/eurusd/20240301_quote.zip")
    assert (result.side, result.venue, result.zone_rule) == ("bid+ask", "oanda", "format:UTC")
    sides = result.frame.partition_by("side", as_dict=True)
    assert sides[("bid",)].select("ts", "open").rows() == [(_utc(2024, 3, 1, 10, m), o) for m, o, *_ in BARS]
    assert sides[("ask",)]["open"].to_list() == [o + 1 for _, o, *_ in BARS]
    assert result.frame["volume"].to_list() == [0.0] * 6  # a quote size is not traded volume

    two = _zip({"a/20240301_eurusd_minute_quote.csv": quote(0), "b/20240301_eurusd_minute_quote.csv": quote(600_000)})
    assert _read("x.zip", two, path="/d/forex/oanda/minute/eurusd/x.zip").frame.height == 12


def test_lean_outside_its_layout_is_refused() -> None:
    data = _zip({"20240301_spy_minute_trade.csv": "34200000,1,2,0,1,5\n"})
    with pytest.raises(UnreadableFileError, match="security type"):
        _read("20240301_trade.zip", data, path="/landing/20240301_trade.zip")


def test_fxcm_bid_ask_candles() -> None:
    header = "DateTime,BidOpen,BidHigh,BidLow,BidClose,AskOpen,AskHigh,AskLow,AskClose,TickQty"
    body = "".join(
        f"03/01/2024 10:0{m}:00.000,{o},{h},{low},{c},{o + 1},{h + 1},{low + 1},{c + 1},{int(v)}\n"
        for m, o, h, low, c, v in BARS
    )
    result = _read("EURUSD_2024_9.csv", header + "\n" + body)
    assert (result.format, result.venue, result.side, result.zone_rule) == ("fxcm", "fxcm", "bid+ask", "format:UTC")
    assert result.frame.filter(pl.col("side") == "bid").select("ts", "open").row(0) == (_utc(2024, 3, 1, 10), 1.5)
    assert result.frame.height == 6


def test_dukascopy_side_comes_from_its_file_name_or_the_file_is_refused() -> None:
    body = "Gmt time,Open,High,Low,Close,Volume\r\n" + _lines(
        "{t},{o},{h},{l},{c},{v}", "02.01.2024 10:0{m}:00.000", eol="\r\n"
    )
    ask = _read("EURUSD_Candlestick_1_M_ASK_02.01.2024-02.01.2024.csv", body)
    assert (ask.format, ask.symbol, ask.side) == ("dukascopy", "EURUSD", "ask")
    assert ask.frame["side"].unique().to_list() == ["ask"]
    assert ask.frame["ts"][0] == _utc(2024, 1, 2, 10)  # Dukascopy is day first, stated by the format
    with pytest.raises(UnreadableFileError, match="price side is unknown"):
        _read("eurusd.csv", body)


def test_dukascopy_local_time_flavour_honours_its_offset() -> None:
    body = "Local time,Open,High,Low,Close,Volume\r\n" + _lines(
        "{t},{o},{h},{l},{c},{v}", "02.01.2024 12:0{m}:00.000 GMT+0200", eol="\r\n"
    )
    result = _read("EURUSD_Candlestick_1_M_BID_02.01.2024-02.01.2024.csv", body)
    assert (result.format, result.side, result.zone_rule) == ("dukascopy", "bid", "explicit:UTC")
    assert _rows(result) == _expected(_utc(2024, 1, 2, 10))


def test_binance_with_bom_and_any_name_is_binance() -> None:
    body = "\ufeff" + "".join(
        f"{1709287200000 + 60_000 * m},{o},{h},{low},{c},{v},{1709287259999 + 60_000 * m},1,2,1,1,0\n"
        for m, o, h, low, c, v in BARS
    )
    result = _read("BTCUSDT-1m-2024-03-01 copy.csv", body)
    assert (result.format, result.venue) == ("binance", "binance")
    assert _rows(result) == _expected(_utc(2024, 3, 1, 10))


# --- compression and archives ------------------------------------------------------------------------------


CSV = "time,open,high,low,close,volume\n" + _lines("{t},{o},{h},{l},{c},{v}", "2024-03-01 10:0{m}:00Z")


@pytest.mark.parametrize(
    "pack",
    [
        gzip.compress,
        bz2.compress,
        lzma.compress,
        lambda b: zstandard.ZstdCompressor().compress(b),
        lambda b: _zip({"inner.csv": b.decode()}),
    ],
    ids=["gz", "bz2", "xz", "zst", "zip"],
)
def test_compressed_inputs_by_content(pack: object) -> None:
    data = pack(CSV.encode())  # type: ignore[operator]
    assert _rows(_read("bars.dat", data)) == _expected(_utc(2024, 3, 1, 10))


def test_corrupt_archives_are_refused_with_the_codec() -> None:
    broken = gzip.compress(CSV.encode())[:-12] + b"\x00" * 12
    with pytest.raises(UnreadableFileError, match="corrupt gzip stream"):
        _read("x.csv.gz", broken)
    good = _zip({"inner.csv": CSV * 50})
    with pytest.raises(UnreadableFileError, match="zip"):
        _read("x.zip", good[:40] + b"\xff" * 60 + good[100:])


# --- detection and interval -----------------------------------------------------------------------------


def test_interval_inference() -> None:
    hourly = "time,open,high,low,close\n" + "".join(f"2024-03-01 {h:02d}:00:00Z,1,2,0.5,1.5\n" for h in range(5))
    with pytest.raises(UnreadableFileError, match=r"^not_1m_bars \(interval 1h\)$"):
        _read("X.csv", hourly)
    daily = "Date,Open,High,Low,Close,Volume\n" + "".join(f"2024-03-0{d},1,2,0.5,1.5,9\n" for d in range(1, 6))
    with pytest.raises(UnreadableFileError, match=r"^not_1m_bars \(interval 1d\)$"):
        _read("X.csv", daily)
    assert [interval_label(ms) for ms in (1000, 300_000, 14_400_000, 604_800_000)] == ["1s", "5m", "4h", "1w"]
    gappy = pl.DataFrame({"ts": [_utc(2024, 3, 1, 10, m) for m in (0, 1, 2, 30, 31, 59)]})
    check_one_minute(gappy)  # gaps do not make a minute file hourly


def test_detection_refuses_what_it_does_not_understand() -> None:
    with pytest.raises(UnreadableFileError, match="names no time column"):
        _read("X.csv", "when,what\nmonday,1\n")
    with pytest.raises(UnreadableFileError, match="no reader accepts"):
        _read("X.csv", "1,2,3\n4,5,6\n")
    with pytest.raises(ConfigError, match="unknown format 'nope'"):
        choose_reader(SourceFile("X.csv", CSV.encode()), "nope")


class _Claims:
    def __init__(self, name: str, confidence: float) -> None:
        self.name, self.description, self.confidence = name, "test reader", confidence

    def sniff(self, head: str, name: str) -> float:
        return self.confidence

    def read(self, source: SourceFile, options: ReaderOptions) -> ReadResult:
        raise AssertionError("never read on a tie")


def test_a_tie_or_low_confidence_is_refused_never_picked() -> None:
    source = SourceFile("X.csv", b"anything\n")
    with pytest.raises(UnreadableFileError, match="ambiguous format: readers a and b"):
        choose_reader(source, None, [_Claims("a", 0.7), _Claims("b", 0.7)])
    with pytest.raises(UnreadableFileError, match="no reader accepts"):
        choose_reader(source, None, [_Claims("a", 0.4)])
    assert choose_reader(source, None, [_Claims("a", 0.7), _Claims("b", 0.9)]).name == "b"


@pytest.mark.parametrize(
    ("line", "stamp"),
    [
        ("{t},{o},{h},{l},{c},{v}", "03/01/2024,10:0{m}"),  # Kibot: M/D/Y (day 13 below decides), HH:MM
        ("{t},{o},{h},{l},{c},{v}", "2024-03-01 10:0{m}:00"),  # FirstRate Data
        ("{t};{o};{h};{l};{c};{v}", "20240301 10:0{m}:00"),
    ],
)
def test_headerless_bars_with_the_ohlc_order_checked(line: str, stamp: str) -> None:
    body = _lines(line, stamp) + line.format(t=stamp.format(m=0).replace("03/01", "03/13"), o=1, h=2, l=0.5, c=1.5, v=1)
    result = _read("SPY_1min.txt", body + "\n", timezone="America/New_York")
    assert (result.format, result.zone_rule) == ("headerless", "option:America/New_York")
    assert _rows(result)[:3] == _expected(_utc(2024, 3, 1, 15))


def test_headerless_file_whose_columns_are_not_ohlc_is_refused() -> None:
    body = "".join(f"2024-03-01 10:0{m}:00,{o},{low},{h},{c},{v}\n" for m, o, h, low, c, v in BARS)  # O,L,H,C
    with pytest.raises(UnreadableFileError, match="column order is not O,H,L,C"):
        _read("x.csv", body)


def test_thousands_separators_beside_a_point_and_mixed_time_shapes() -> None:
    body = (
        'Date,Open,High,Low,Close,Volume\n2024-03-01 10:00,"1,234.50","1,240.00","1,230.25","1,235.75",1\n'
        "2024-03-01 10:01:00,1235.75,1236,1235,1235.5,2\n"
    )
    frame = _read("X.csv", body).frame
    assert frame.select("ts", "open", "low").rows() == [
        (_utc(2024, 3, 1, 10), 1234.5, 1230.25),
        (_utc(2024, 3, 1, 10, 1), 1235.75, 1235.0),
    ]


def test_spreadsheet_serial_numbers_are_not_epoch_times() -> None:
    body = "Date,Open,High,Low,Close,Volume\n45352.4166,1,2,0.5,1.5,1\n45352.4173,1,2,0.5,1.5,1\n"
    with pytest.raises(UnreadableFileError, match="too small for epoch seconds"):
        _read("X.csv", body)


def test_tick_files_are_named_as_ticks() -> None:
    with pytest.raises(UnreadableFileError, match="quote ticks, not bars"):
        _read("EURUSD_Ticks.csv", "Gmt time,Ask,Bid,AskVolume,BidVolume\n01.03.2024 10:00:00.123,1.1,1.0,1,1\n")


def test_compressed_names_keep_their_identity() -> None:
    from core.formats.naming import identify

    assert identify("/l/BTCUSDT-1m-2024-03-01.csv.gz") == identify("/l/BTCUSDT-1m-2024-03-01.csv")
    assert identify("/l/DAT_ASCII_EURUSD_M1_202403.csv.zst").symbol == "EURUSD"


def test_interval_is_the_common_divisor_of_aligned_steps() -> None:
    sparse = pl.DataFrame({"ts": [_utc(2024, 3, 1, 10, m) for m in (0, 2, 5, 9, 30)]})  # steps 2, 3, 4, 21 min
    check_one_minute(sparse)
    with pytest.raises(UnreadableFileError, match=r"interval 5m"):
        check_one_minute(pl.DataFrame({"ts": [_utc(2024, 3, 1, 10, m) for m in (0, 5, 15, 20)]}))
    seconds = pl.DataFrame({"ts": [datetime(2024, 3, 1, 10, 0, s, tzinfo=UTC) for s in range(0, 50, 1)]})
    with pytest.raises(UnreadableFileError, match=r"interval 1s"):
        check_one_minute(seconds)
    one_odd = pl.DataFrame(
        {"ts": [*(_utc(2024, 3, 1, 10, m) for m in range(5)), datetime(2024, 3, 1, 10, 5, 30, tzinfo=UTC)]}
    )
    check_one_minute(one_odd)  # one misaligned row is the row checks' business
