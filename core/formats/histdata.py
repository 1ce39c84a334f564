"""HistData.com M1 ASCII: ``YYYYMMDD HHMMSS;open;high;low;close;volume`` in EST without DST.

HistData states its clock is fixed UTC-5 all year, so the conversion is a constant +5 h,
not a zone lookup (America/New_York would wrongly shift summer rows by an hour).
"""

from __future__ import annotations

import io
import re

import polars as pl

from core.errors import UnreadableFileError
from core.formats.frame import SourceFile, conform, split_lines, strip_bom
from core.formats.protocol import ZONE_FORMAT, ReaderOptions, ReadResult, ZoneChoice

NAME = "histdata"
_LINE = re.compile(r"^\d{8} \d{6};")
_EST_OFFSET = pl.duration(hours=5)
_COLUMNS = ["stamp", "open", "high", "low", "close", "volume"]


def looks_like(first_line: str) -> bool:
    return bool(_LINE.match(first_line.strip()))


def _stamp_to_ts(col: pl.Expr) -> pl.Expr:
    local = col.str.strip_chars().str.to_datetime("%Y%m%d %H%M%S", time_unit="ms", strict=False)
    return (local + _EST_OFFSET).dt.replace_time_zone("UTC")


ZONE = ZoneChoice("EST(UTC-5,no DST)", ZONE_FORMAT)


def sniff(head: str, name: str) -> float:
    first = next((line for line in head.splitlines() if line.strip()), "")
    return 0.95 if looks_like(first.lstrip("\ufeff")) else 0.0


class HistDataReader:
    name = NAME
    description = "HistData.com M1 ASCII `YYYYMMDD HHMMSS;o;h;l;c;v`, EST without DST, bid prices"

    def sniff(self, head: str, name: str) -> float:
        return sniff(head, name)

    def read(self, source: SourceFile, options: ReaderOptions) -> ReadResult:
        # HistData candles are bid-only: one side from a vendor of one side keeps the plain symbol
        return ReadResult(read(source), NAME, ZONE.label, "bid", NAME, None)


def read(source: SourceFile) -> pl.DataFrame:
    payload = strip_bom(source.payload())
    if not payload.strip():
        raise UnreadableFileError("file is empty")
    try:
        frame = pl.read_csv(
            io.BytesIO(payload),
            has_header=False,
            separator=";",
            new_columns=_COLUMNS,
            schema_overrides={"stamp": pl.String, **dict.fromkeys(_COLUMNS[1:], pl.Float64)},
        )
        if frame.width != 6:
            raise ValueError("unexpected column count")
        frame = frame.with_row_index("line", offset=1).with_columns(ts=_stamp_to_ts(pl.col("stamp")))
        if frame.select(pl.col("ts").is_null().any()).item():
            raise ValueError("unparseable timestamps")
        return conform(frame)
    except (pl.exceptions.PolarsError, ValueError):
        return _read_lenient(payload)


def _read_lenient(payload: bytes) -> pl.DataFrame:
    lines = split_lines(payload)
    fields = pl.col("raw").str.strip_chars().str.split(";")
    parsed = lines.with_columns(
        ts=_stamp_to_ts(fields.list.get(0, null_on_oob=True)),
        **{
            name: fields.list.get(i, null_on_oob=True).cast(pl.Float64, strict=False)
            for i, name in enumerate(_COLUMNS)
            if i
        },
    )
    clean = pl.all_horizontal(pl.col(c).is_not_null() for c in ["ts", "open", "high", "low", "close", "volume"])
    return conform(parsed.with_columns(raw=pl.when(clean).then(None).otherwise(pl.col("raw"))))
