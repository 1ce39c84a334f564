"""Bid/ask minute files of FX vendors that publish both sides.

- Dukascopy export: ``Gmt time,Open,High,Low,Close,Volume`` (``DD.MM.YYYY HH:MM:SS.mmm`` in GMT) or
  ``Local time`` (values end ``GMT+0200``: the offset is honoured). One file is one side; the side is
  only in Dukascopy's default file name (``…_BID_…``/``…_ASK_…``), and a file whose name does not
  say it is refused rather than guessed. Rows carry the side, the symbol becomes ``GBPUSD.BID``.
- FXCM candle data: ``DateTime,BidOpen,BidHigh,BidLow,BidClose,AskOpen,AskHigh,AskLow,AskClose,TickQty``,
  ``MM/DD/YYYY HH:MM:SS.fff``, UTC (FXCM's published notes); one row per side (``.BID``/``.ASK``).
"""

from __future__ import annotations

import re

from core.errors import UnreadableFileError
from core.formats.frame import SourceFile, strip_bom
from core.formats.generic import bars_from_columns, named_frame
from core.formats.protocol import ZONE_FORMAT, ReaderOptions, ReadResult, ZoneChoice
from core.formats.tabular import normalize_name, read_table, sniff_layout

DUKASCOPY = "dukascopy"
FXCM = "fxcm"
_DUKA_HEADER = ["open", "high", "low", "close", "volume"]
_DUKA_SIDE = re.compile(r"(?:^|[_\-. ])(BID|ASK)(?:[_\-. ]|$)", re.IGNORECASE)
_DUKA_SYMBOL = re.compile(r"^([A-Za-z0-9]+)_Candlestick", re.IGNORECASE)
_FXCM_NAMES = {f"{s}{f}" for s in ("bid", "ask") for f in ("open", "high", "low", "close")}
GMT = ZoneChoice("UTC", ZONE_FORMAT)


def _header(head: str) -> list[str]:
    layout = sniff_layout(head.lstrip("\ufeff"))
    if layout is None or not layout.has_header:
        return []
    return [normalize_name(f) for f in layout.first_fields]


class DukascopyReader:
    name = DUKASCOPY
    description = "Dukascopy BID/ASK export `Gmt time|Local time,Open,High,Low,Close,Volume`, DD.MM.YYYY"

    def sniff(self, head: str, name: str) -> float:
        names = _header(head)
        return 0.9 if names[:1] in (["gmttime"], ["localtime"]) and names[1:6] == _DUKA_HEADER else 0.0

    def read(self, source: SourceFile, options: ReaderOptions) -> ReadResult:
        base = source.name.rsplit("/", 1)[-1].rsplit("!", 1)[-1]
        side = _DUKA_SIDE.search(base)
        if side is None:
            raise UnreadableFileError(
                "Dukascopy export whose name does not say BID or ASK: the price side is unknown "
                "(keep Dukascopy's `<PAIR>_Candlestick_1_M_BID_…` name)"
            )
        table = read_table(strip_bom(source.payload()))
        if table.header is None or table.fields.height == 0:
            raise UnreadableFileError("Dukascopy export without rows")
        gmt = normalize_name(table.header[0]) == "gmttime"
        symbol = m.group(1).upper() if (m := _DUKA_SYMBOL.match(base)) else None
        result = bars_from_columns(
            named_frame(table),
            options,
            fmt=DUKASCOPY,
            stated=GMT if gmt else None,
            date_order="dmy",
            side=side.group(1).lower(),
            side_rows=True,
            venue=DUKASCOPY,
        )
        return ReadResult(
            result.frame, DUKASCOPY, result.zone_rule, result.side, DUKASCOPY, symbol or result.symbol, result.notes
        )


class FxcmReader:
    name = FXCM
    description = "FXCM candle data `DateTime,BidOpen…AskClose,TickQty`, MM/DD/YYYY, UTC, bid and ask rows"

    def sniff(self, head: str, name: str) -> float:
        names = set(_header(head))
        return 0.8 if _FXCM_NAMES <= names and "datetime" in names else 0.0

    def read(self, source: SourceFile, options: ReaderOptions) -> ReadResult:
        table = read_table(strip_bom(source.payload()))
        if table.header is None or table.fields.height == 0:
            raise UnreadableFileError("FXCM file without rows")
        return bars_from_columns(
            named_frame(table), options, fmt=FXCM, stated=GMT, date_order="mdy", venue=FXCM, side="bid+ask"
        )
