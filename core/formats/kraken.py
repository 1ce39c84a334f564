"""Kraken downloadable OHLCVT: ``time,open,high,low,close,volume,trades``, no header, epoch seconds UTC.

Kraken publishes only intervals with trades, so gaps are expected. The same archive holds 1, 5,
15, 60, 240, 720 and 1440-minute files of one layout: the interval is inferred from the rows and
anything but one minute is refused (``not_1m_bars``).
"""

from __future__ import annotations

import re

from core.errors import UnreadableFileError
from core.formats.frame import SourceFile, strip_bom
from core.formats.generic import bars_from_columns
from core.formats.protocol import ReaderOptions, ReadResult
from core.formats.tabular import read_table

NAME = "kraken"
_NUM = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_LINE = re.compile(rf"^\d{{9,10}}(?:,{_NUM}){{5}},\d+$")
_NAMES = ["time", "open", "high", "low", "close", "volume", "trades"]


class KrakenReader:
    name = NAME
    description = "Kraken OHLCVT `epoch_s,o,h,l,c,volume,trades`, no header, UTC"

    def sniff(self, head: str, name: str) -> float:
        lines = [line.strip() for line in head.lstrip("\ufeff").splitlines() if line.strip()][:5]
        if len(lines) > 1 and not head.endswith(("\n", "\r")):
            lines = lines[:-1]
        return 0.85 if lines and all(_LINE.match(line) for line in lines) else 0.0

    def read(self, source: SourceFile, options: ReaderOptions) -> ReadResult:
        payload = strip_bom(source.payload())
        if not payload.strip():
            raise UnreadableFileError("file is empty")
        table = read_table(payload, max_width=7)
        data = table.fields.select("line", "raw", *(table.column(i).alias(n) for i, n in enumerate(_NAMES)))
        return bars_from_columns(data, options, fmt=NAME, venue=NAME)
