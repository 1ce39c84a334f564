"""Headerless bar files of the common shape ``time[,time],open,high,low,close,volume[,…]`` (Kibot, FirstRate Data,
NinjaTrader-style exports, epoch-first dumps) that no vendor reader claims.

Without names, the column order is the universal O,H,L,C convention, and it is *checked*, not assumed: at least
99% of the rows must satisfy ``low <= min(open, close) <= max(open, close) <= high``, else the file is refused.
Extra columns after the volume (open interest, trades) are ignored and noted. Naive times follow the generic zone
rule (``--timezone``, else the venue's session zone, else UTC with a warning).
"""

from __future__ import annotations

import re

import polars as pl

from core.errors import UnreadableFileError
from core.formats.frame import SourceFile, strip_bom
from core.formats.generic import bars_from_columns
from core.formats.protocol import ReaderOptions, ReadResult
from core.formats.tabular import is_number, read_table, sniff_layout

NAME = "headerless"
_DAY = r"(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4}|(?:19|20)\d{6})"
_DATE = re.compile(rf"^{_DAY}$")
_DATETIME = re.compile(
    rf"^{_DAY}[T ]\d{{1,2}}:?\d{{2}}(?::?\d{{2}}(?:[.,]\d+)?)?(?:\s*[AaPp][Mm])?(?:Z|[+-]\d{{2}}:?\d{{2}})?$"
)
_CLOCK = re.compile(r"^\d{1,2}:?\d{2}(?::?\d{2}(?:[.,]\d+)?)?(?:\s*[AaPp][Mm])?$")
_EPOCH = re.compile(r"^\d{9,19}$")
MIN_OHLC_SHARE = 0.99


def _time_fields(fields: tuple[str, ...]) -> int:
    """How many leading fields hold the time (1 or 2), 0 when the line does not start with a time."""
    if len(fields) >= 7 and _DATE.match(fields[0]) and _CLOCK.match(fields[1]):
        return 2
    if len(fields) >= 6 and (_DATETIME.match(fields[0]) or _EPOCH.match(fields[0])):
        return 1
    return 0


class HeaderlessReader:
    name = NAME
    description = "headerless `time[,time],open,high,low,close,volume[,…]` (OHLC order checked on the rows)"

    def sniff(self, head: str, name: str) -> float:
        layout = sniff_layout(head.lstrip("\ufeff"))
        if layout is None or layout.has_header:
            return 0.0
        n_time = _time_fields(layout.first_fields)
        rest = layout.first_fields[n_time:]
        # time + open, high, low, close, volume at least: four bare numbers are too little to call a bar file
        return 0.55 if n_time and len(rest) >= 5 and all(is_number(f) for f in rest[:5]) else 0.0

    def read(self, source: SourceFile, options: ReaderOptions) -> ReadResult:
        payload = strip_bom(source.payload())
        if not payload.strip():
            raise UnreadableFileError("file is empty")
        table = read_table(payload, max_width=16)
        first = tuple(str(table.column(i)[0] or "") for i in range(table.width))
        n_time = _time_fields(first)
        if not n_time:
            raise UnreadableFileError(f"first row {table.fields['raw'][0]!r} does not start with a time")
        names = ["date", "time"][:n_time] if n_time == 2 else ["timestamp"]
        names += ["open", "high", "low", "close", "volume"][: table.width - n_time]
        data = table.fields.select("line", "raw", *(table.column(i).alias(n) for i, n in enumerate(names)))
        notes = ["no header: columns read as time, open, high, low, close, volume (OHLC order checked)"]
        if table.width > len(names):
            notes.append(f"{table.width - len(names)} trailing columns ignored")
        result = bars_from_columns(data, options, fmt=NAME, notes=notes)
        frame = result.frame.filter(pl.col("raw").is_null())
        consistent = frame.select(
            (
                (pl.col("low") <= pl.min_horizontal("open", "close"))
                & (pl.max_horizontal("open", "close") <= pl.col("high"))
            ).mean()
        ).item()
        if frame.height and (consistent or 0.0) < MIN_OHLC_SHARE:
            raise UnreadableFileError(
                f"no header, and only {consistent:.1%} of rows read as open,high,low,close are consistent: "
                "the column order is not O,H,L,C; add a header"
            )
        return result
