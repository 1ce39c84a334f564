"""MetaTrader exports: MT4 History Center CSV and MT5 "Export Bars".

- MT4: no header, ``YYYY.MM.DD,HH:MM,open,high,low,close,tickvolume`` (comma, CRLF).
- MT5: header ``<DATE>\\t<TIME>\\t<OPEN>\\t<HIGH>\\t<LOW>\\t<CLOSE>\\t<TICKVOL>\\t<VOL>\\t<SPREAD>`` (tab, CRLF);
  the Daily export has no ``<TIME>``; a variant wraps each whole line in one pair of quotes.

Times are the broker's server time, which neither file records: the zone comes from ``--timezone``,
else the venue's session zone, else UTC with a warning. Prices are the broker's bid candles (one
side from a source of one side): the symbol stays plain, the side is recorded as ``bid``.
``<VOL>`` (exchange volume) is used when it is not all zero, else ``<TICKVOL>`` (noted).
"""

from __future__ import annotations

import re

import polars as pl

from core.errors import UnreadableFileError
from core.formats.frame import SourceFile, strip_bom
from core.formats.generic import bars_from_columns, named_frame
from core.formats.protocol import ReaderOptions, ReadResult
from core.formats.tabular import read_table, sniff_layout

MT4 = "mt4"
MT5 = "mt5"
_NUM = r"-?\d+(?:\.\d+)?"
_MT4_LINE = re.compile(rf"^\d{{4}}\.\d{{2}}\.\d{{2}},\d{{1,2}}:\d{{2}}(?::\d{{2}})?(?:,{_NUM}){{5}}$")
_MT4_NAMES = ["date", "time", "open", "high", "low", "close", "volume"]


class MT4Reader:
    name = MT4
    description = "MetaTrader 4 History Center CSV `YYYY.MM.DD,HH:MM,o,h,l,c,v`, no header, broker server time"

    def sniff(self, head: str, name: str) -> float:
        lines = [line.strip() for line in head.lstrip("\ufeff").splitlines() if line.strip()][:5]
        if len(lines) > 1 and not head.endswith(("\n", "\r")):
            lines = lines[:-1]
        return 0.9 if lines and all(_MT4_LINE.match(line) for line in lines) else 0.0

    def read(self, source: SourceFile, options: ReaderOptions) -> ReadResult:
        payload = strip_bom(source.payload())
        if not payload.strip():
            raise UnreadableFileError("file is empty")
        table = read_table(payload, max_width=7)
        data = table.fields.select("line", "raw", *(table.column(i).alias(n) for i, n in enumerate(_MT4_NAMES)))
        return bars_from_columns(data, options, fmt=MT4, side="bid", notes=("broker server time",))


class MT5Reader:
    name = MT5
    description = "MetaTrader 5 Export Bars `<DATE>\\t<TIME>\\t<OPEN>…` (also quoted lines, Daily without <TIME>)"

    def sniff(self, head: str, name: str) -> float:
        layout = sniff_layout(head.lstrip("\ufeff"))
        if layout is None or not layout.has_header or not layout.first_fields:
            return 0.0
        names = [f.upper() for f in layout.first_fields]
        return 0.95 if names[0] == "<DATE>" and "<OPEN>" in names and "<CLOSE>" in names else 0.0

    def read(self, source: SourceFile, options: ReaderOptions) -> ReadResult:
        payload = strip_bom(source.payload())
        table = read_table(payload)
        if table.header is None or table.fields.height == 0:
            raise UnreadableFileError("MT5 export without a header or without rows")
        data = named_frame(table)
        return bars_from_columns(data, options, fmt=MT5, side="bid", notes=("broker server time",))


__all__ = ["MT4", "MT5", "MT4Reader", "MT5Reader", "pl"]
