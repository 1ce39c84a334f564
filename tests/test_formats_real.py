"""Every file of the shared real samples through detection and its reader: exact bars or the exact refusal.

Counts, first/last times and spot values are those of each folder's PROVENANCE.md; a file that is not
one-minute bars (Kraken 60m, MT5 H1/Daily, Yahoo daily, EURUSD H1) or not bars at all (Tardis trades,
LEAN ticks) must be refused with a reason that names what was not understood.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from core.errors import UnreadableFileError
from core.formats import ReaderOptions, SourceFile, read_bars
from core.normalize import Identity, to_candidates


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True)
class Expect:
    fmt: str
    rows: int  # rows of the raw frame (quote files: one per side)
    first: datetime
    last: datetime
    zone_rule: str
    side: str = "trade"
    venue: str | None = None
    symbols: dict[str, int] = field(default_factory=dict)  # candidate symbol -> rows (side suffixes)
    spot: dict[str, float] = field(default_factory=dict)  # values of the first row (first side)


LOADS: dict[str, Expect] = {
    "binance-futures-um-1m-monthly/DOTUSDT-1m-2024-11_first2days.csv": Expect(
        "binance",
        2880,
        _utc(2024, 11, 1),
        _utc(2024, 11, 2, 23, 59),
        "explicit:UTC",
        venue="binance",
        symbols={"X": 2880},
        spot={"open": 3.958, "volume": 45103.8, "trades": 306, "quote_volume": 178487.4969},
    ),
    "binance-spot-btcusdt-1m-daily/BTCUSDT-1m-2019-06-07.csv": Expect(
        "binance",
        1379,
        _utc(2019, 6, 7),
        _utc(2019, 6, 7, 23, 59),
        "explicit:UTC",
        venue="binance",
        spot={"open": 7787.57, "trades": 347},
    ),
    "binance-spot-btcusdt-1m-daily/BTCUSDT-1m-2025-06-15.csv": Expect(
        "binance", 1440, _utc(2025, 6, 15), _utc(2025, 6, 15, 23, 59), "explicit:UTC", venue="binance"
    ),
    "dukascopy-gmt-m1/GBPUSD_Candlestick_1_M_BID_04.04.2025-06.04.2025_slice.csv": Expect(
        "dukascopy",
        3000,
        _utc(2025, 4, 4, 20, 30),
        _utc(2025, 4, 6, 22, 29),
        "format:UTC",
        side="bid",
        venue="dukascopy",
        symbols={"X.BID": 3000},
        spot={"open": 1.28574, "high": 1.28631, "low": 1.28573, "close": 1.28630, "volume": 99},
    ),
    "generic-iso8601-offset/XAUUSD_M1.csv": Expect(
        "generic",
        4676,
        _utc(2026, 6, 28, 22),
        _utc(2026, 7, 2, 9, 55),
        "explicit:UTC",
        spot={"open": 4082.28, "high": 4084.24, "low": 4059.43, "close": 4079.36, "volume": 1171},
    ),
    "histdata-eurusd-m1/DAT_NT_EURUSD_M1_201502_week1.csv": Expect(
        "histdata",
        7192,
        _utc(2015, 2, 1, 22),
        _utc(2015, 2, 6, 21, 59),
        "format:EST(UTC-5,no DST)",
        side="bid",
        venue="histdata",
        symbols={"X": 7192},
        spot={"open": 1.131050, "high": 1.131170, "low": 1.130760, "close": 1.130840, "volume": 0},
    ),
    "mt4-usdjpy-m1/USDJPY1_2017-02-03_06.csv": Expect(
        "mt4",
        2145,
        _utc(2017, 2, 3, 12),
        _utc(2017, 2, 6, 23, 59),
        "default_utc:UTC",
        side="bid",
        spot={"open": 113.121, "high": 113.121, "low": 113.106, "close": 113.116, "volume": 20},
    ),
    "quantconnect-lean-zips/equity/usa/minute/aapl/20140606_trade.zip": Expect(
        "lean",
        783,
        _utc(2014, 6, 6, 8),
        _utc(2014, 6, 6, 23, 59),
        "format:America/New_York",
        symbols={"X": 783},
        spot={"open": 648.8, "high": 649.1, "low": 648.8, "close": 649.1, "volume": 300},
    ),
    "quantconnect-lean-zips/equity/usa/minute/aapl/20140606_quote.zip": Expect(
        "lean",
        1670,
        _utc(2014, 6, 6, 8),
        _utc(2014, 6, 7, 0),
        "format:America/New_York",
        side="bid+ask",
        symbols={"X.BID": 835, "X.ASK": 835},
        spot={"open": 1.0, "high": 648.88, "low": 1.0, "close": 648.84},
    ),
    "quantconnect-lean-zips/forex/oanda/minute/nzdusd/20140505_quote.zip": Expect(
        "lean",
        2798,
        _utc(2014, 5, 5),
        _utc(2014, 5, 5, 23, 59),
        "format:UTC",
        side="bid+ask",
        venue="oanda",
        symbols={"X.BID": 1399, "X.ASK": 1399},
        spot={"open": 0.86576, "close": 0.86587, "volume": 0},
    ),
    "quantconnect-lean-zips/crypto/coinbase/minute/ethusd/20180404_trade.zip": Expect(
        "lean",
        1009,
        _utc(2018, 4, 4),
        _utc(2018, 4, 4, 16, 52),
        "format:UTC",
        venue="coinbase",
        spot={"open": 416.29, "low": 416.15, "volume": 46.33579289},
    ),
    "quantconnect-lean-zips/crypto/coinbase/minute/ethusd/20180404_quote.zip": Expect(
        "lean",
        2876,
        _utc(2018, 4, 4),
        _utc(2018, 4, 4, 23, 58),
        "format:UTC",
        side="bid+ask",
        venue="coinbase",
        symbols={"X.BID": 1438, "X.ASK": 1438},
        spot={"open": 416.15},
    ),
}

REFUSALS: dict[str, str] = {
    "generic-iso8601-offset/EURUSD_1H_first3000.csv": r"^not_1m_bars \(interval 1h\)$",
    "kraken-ohlcvt-60m/STORJUSD_60.csv": r"^not_1m_bars \(interval 1h\)$",
    "mt5-us30m-export/US30m_H1_202401012300_202509082200_first3000.csv": r"^not_1m_bars \(interval 1h\)$",
    "mt5-us30m-export/US30m_Daily_202401010000_202509080000.csv": r"^not_1m_bars \(interval 1d\)$",
    "yahoo-daily-nvda/nvda-1999-2014.txt": r"^not_1m_bars \(interval 1d\)$",
    "sp500-index-1m-intraday/SP500_NOV2019_IDay.csv": r"^ambiguous_date_order: dates such as '11/5/2019 9:30'",
    "tardis-binance-futures-trades/tardis_trades_binance-futures_BTCUSDT_first3000.csv": r"trade ticks, not bars",
    "quantconnect-lean-zips/equity/usa/tick/ibm/20131008_trade.zip": r"^LEAN tick file: .*not bars",
}


def _source(path: Path) -> SourceFile:
    return SourceFile(path.name, path.read_bytes(), str(path))


def test_every_real_file_is_covered(real_data: Path) -> None:
    files = {str(p.relative_to(real_data)) for p in real_data.rglob("*") if p.is_file() and not p.name.endswith(".md")}
    assert files == set(LOADS) | set(REFUSALS)


@pytest.mark.parametrize("relative", sorted(LOADS))
def test_real_file_loads_with_exact_bars(real_data: Path, relative: str) -> None:
    expect = LOADS[relative]
    result = read_bars(_source(real_data / relative), ReaderOptions())
    frame = result.frame
    assert (result.format, frame.height, result.zone_rule, result.side) == (
        expect.fmt,
        expect.rows,
        expect.zone_rule,
        expect.side,
    )
    assert result.venue == expect.venue
    assert frame["raw"].null_count() == frame.height  # every row parsed cleanly
    assert (frame["ts"].min(), frame["ts"].max()) == (expect.first, expect.last)
    first = frame.row(0, named=True)
    for column, value in expect.spot.items():
        assert first[column] == pytest.approx(value), column
    if expect.symbols:
        candidates = to_candidates(frame, Identity("v", "X", 1, 1))
        assert dict(candidates.group_by("symbol").len().iter_rows()) == expect.symbols
    # one bar per (side, minute): nothing silently doubled
    assert frame.select(pl.struct("side", "ts").n_unique()).item() == frame.height


@pytest.mark.parametrize("relative", sorted(REFUSALS))
def test_real_file_is_refused_with_its_reason(real_data: Path, relative: str) -> None:
    with pytest.raises(UnreadableFileError, match=REFUSALS[relative]):
        read_bars(_source(real_data / relative), ReaderOptions())


def test_sp500_reads_with_the_operator_date_order_in_new_york(real_data: Path) -> None:
    path = real_data / "sp500-index-1m-intraday" / "SP500_NOV2019_IDay.csv"
    result = read_bars(_source(path), ReaderOptions(date_order="mdy", venue="nyse"))
    assert (result.frame.height, result.zone_rule) == (1563, "venue:America/New_York")
    assert result.frame["ts"].min() == _utc(2019, 11, 5, 14, 30)  # 09:30 EST
    assert result.zone_defaulted


def test_mt4_zone_from_the_operator(real_data: Path) -> None:
    result = read_bars(
        _source(real_data / "mt4-usdjpy-m1" / "USDJPY1_2017-02-03_06.csv"), ReaderOptions(timezone="Etc/GMT-2")
    )
    assert result.zone_rule == "option:Etc/GMT-2" and not result.zone_defaulted
    assert result.frame["ts"].min() == _utc(2017, 2, 3, 10)
