"""data.binance.vision klines: 12 columns, optional header, epoch ms (to 2024) or µs (2025 on), UTC.

Spot files switched from milliseconds to microseconds on 2025-01-01; the unit is told by magnitude
per file (every published file is one UTC day or month, so one unit): a file that mixes units is
refused as ``mixed_epoch_units``. The content proves the venue: Binance whatever the file name.
"""

from __future__ import annotations

import io

import numpy as np
import polars as pl

from core.errors import UnreadableFileError
from core.formats.frame import SourceFile, conform, conform_exprs, split_lines, strip_bom
from core.formats.protocol import ReaderOptions, ReadResult
from core.formats.timeparse import EXPLICIT_UTC

NAME = "binance"
COLUMNS = [
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "trades",
    "taker_buy_base",
    "taker_buy_quote",
    "ignore",
]
_NUMERIC = ["open", "high", "low", "close", "volume", "quote_volume"]
_TYPES = {
    "open_time": pl.Int64,
    "trades": pl.Int64,
    "taker_buy_base": pl.Float64,
    **dict.fromkeys(_NUMERIC, pl.Float64),
}
_KEEP = 10  # through taker_buy_base (aggressor-buy volume -> buy_volume)
# Epoch values above this are microseconds (1e14 µs is 1973; 1e14 ms is year 5138).
_US_THRESHOLD = 100_000_000_000_000


def has_header(first_line: str) -> bool:
    return first_line.lstrip("\ufeff").split(",")[0].strip().strip('"').lower() in {
        "open_time",
        "open time",
        "opentime",
    }


def looks_like(first_line: str) -> bool:
    """Header named like klines, or >= 11 comma fields starting with a 13-16 digit epoch."""
    if has_header(first_line):
        return True
    fields = first_line.strip().split(",")
    head = fields[0].strip()
    return len(fields) >= 11 and head.isdigit() and 12 <= len(head) <= 17


def sniff(head: str, name: str) -> float:
    lines = [line for line in head.splitlines() if line.strip()]
    if not lines:
        return 0.0
    if has_header(lines[0]):
        return 0.95
    return 0.9 if looks_like(lines[0]) else 0.0


def check_one_unit(frame: pl.DataFrame) -> None:
    """Refuse a file whose open times mix ms and µs (told by magnitude), naming the first odd row."""
    seen = (
        frame.select(_unit(pl.col("open_time").abs()).alias("unit"))
        .drop_nulls()
        .get_column("unit")
        .unique()
        .sort()
        .to_list()
    )
    if len(seen) > 1:
        names = " and ".join(_UNIT_NAMES[u] for u in seen)
        raise UnreadableFileError(f"mixed_epoch_units ({names} in one open_time column)")


def _one_unit_each(frame: pl.DataFrame) -> bool:
    """:func:`check_one_unit` for many stacked files (``_file``: each row's file) in one grouped pass."""
    units = frame.select("_file", _unit(pl.col("open_time").abs()).alias("unit")).drop_nulls("unit")
    return bool(units.group_by("_file").agg(pl.col("unit").n_unique() <= 1).get_column("unit").all())


_UNIT_NAMES = ("s", "ms", "µs", "ns")


def _unit(col: pl.Expr) -> pl.Expr:
    return (
        pl.when(col < 100_000_000_000)
        .then(0)
        .when(col < _US_THRESHOLD)
        .then(1)
        .when(col < 100_000_000_000_000_000)
        .then(2)
        .when(col.is_not_null())
        .then(3)
    )


def _epoch_to_ts(col: pl.Expr) -> pl.Expr:
    unit = _unit(col.abs())  # one unit per file (check_one_unit), so per row is per file
    millis = (
        pl.when(unit == 0)
        .then(col * 1000)
        .when(unit == 1)
        .then(col)
        .when(unit == 2)
        .then(col // 1000)
        .otherwise(col // 1_000_000)
    )
    return millis.cast(pl.Datetime("ms")).dt.replace_time_zone("UTC")


def read_result(source: SourceFile, options: ReaderOptions | None = None) -> ReadResult:
    """The protocol's ``read``: klines are UTC epoch times, the venue is binance, prices are trades."""
    return ReadResult(read(source), NAME, EXPLICIT_UTC.label, "trade", NAME, None)


class BinanceReader:
    name = NAME
    description = "data.binance.vision klines (spot/futures, with or without header), epoch ms or µs, UTC"

    def sniff(self, head: str, name: str) -> float:
        return sniff(head, name)

    def read(self, source: SourceFile, options: ReaderOptions) -> ReadResult:
        return read_result(source, options)


def read(source: SourceFile) -> pl.DataFrame:
    payload = strip_bom(source.payload())
    first = payload[:512].decode("utf-8", errors="replace").splitlines()[0] if payload.strip() else ""
    if not first:
        raise UnreadableFileError("file is empty")
    header = has_header(first)
    try:
        return _read_fast(payload, header)
    except (pl.exceptions.PolarsError, ValueError):
        # Ragged, truncated or non-numeric rows: parse line by line so only bad rows are lost.
        return _read_lenient(payload, header)


def _read_fast(payload: bytes, header: bool) -> pl.DataFrame:
    """Clean files in one pass (one polars query per file: per-call overhead dominates small files)."""
    frame = pl.read_csv(
        io.BytesIO(payload),
        has_header=False,
        skip_rows=1 if header else 0,
        new_columns=COLUMNS,
        schema_overrides=_TYPES,
        columns=list(range(_KEEP)),
    )
    if frame.width != _KEEP:
        raise ValueError("unexpected column count")
    check_one_unit(frame)
    out = (
        frame.lazy()
        .with_row_index("line", offset=2 if header else 1)
        .with_columns(ts=_epoch_to_ts(pl.col("open_time")), buy_volume=pl.col("taker_buy_base"))
        .select(
            *conform_exprs([*frame.columns, "line", "ts", "buy_volume"]),
            pl.any_horizontal(pl.col(c).is_null() for c in ["open_time", *_NUMERIC[:5]]).alias("_short"),
        )
        .collect()
    )
    if out.get_column("_short").any():
        raise ValueError("short or empty fields")  # let the lenient path keep those lines' text
    return out.drop("_short")


def read_many(sources: list[SourceFile]) -> list[pl.DataFrame] | None:
    """Parse many clean, headerless files with one multi-threaded read; ``None`` sends them to the
    per-file path (a header, a ragged or short row anywhere, or a row count that does not add up).

    Each row gets back its own file's 1-based line number, so quarantine reasons stay per file.
    """
    payloads: list[bytes] = []
    counts: list[int] = []
    for source in sources:
        payload = source.payload()
        if not payload.strip() or has_header(payload[:256].decode("utf-8", errors="replace")):
            return None
        if not payload.endswith(b"\n"):
            payload += b"\n"
        payloads.append(payload)
        counts.append(payload.count(b"\n"))
    try:
        frame = pl.read_csv(
            io.BytesIO(b"".join(payloads)),
            has_header=False,
            new_columns=COLUMNS,
            schema_overrides=_TYPES,
            columns=list(range(_KEEP)),
        )
    except (pl.exceptions.PolarsError, ValueError):
        return None
    if frame.height != sum(counts) or frame.width != _KEEP:
        return None  # blank lines or a miscount: let each file speak for itself
    counts_arr = np.asarray(counts, dtype=np.int64)
    files = pl.Series("_file", np.repeat(np.arange(len(counts), dtype=np.int64), counts_arr))
    if not _one_unit_each(frame.select("open_time").with_columns(files)):
        return None  # a file mixes units: its own read gives the reason
    starts = np.repeat(np.cumsum(counts_arr) - counts_arr, counts_arr)
    line = pl.Series("line", np.arange(frame.height, dtype=np.int64) - starts + 1)
    out = (
        frame.lazy()
        .with_columns(line=line, ts=_epoch_to_ts(pl.col("open_time")), buy_volume=pl.col("taker_buy_base"))
        .select(
            *conform_exprs([*frame.columns, "line", "ts", "buy_volume"]),
            pl.any_horizontal(pl.col(c).is_null() for c in ["open_time", *_NUMERIC[:5]]).alias("_short"),
        )
        .collect()
    )
    if out.get_column("_short").any():
        return None
    out = out.drop("_short")
    offsets = np.cumsum(counts_arr) - counts_arr
    return [out.slice(int(o), int(c)) for o, c in zip(offsets, counts_arr, strict=True)]


def _read_lenient(payload: bytes, header: bool) -> pl.DataFrame:
    lines = split_lines(payload)
    if header:
        lines = lines.filter(pl.col("line") > 1)
    fields = pl.col("raw").str.strip_chars().str.split(",")
    n_fields = fields.list.len()
    check_one_unit(
        lines.select(
            fields.list.get(0, null_on_oob=True).str.strip_chars().cast(pl.Int64, strict=False).alias("open_time")
        )
    )
    if lines.height and lines.select((n_fields < 6).all()).item():
        raise UnreadableFileError(
            f"binance klines need at least 6 comma-separated columns; rows have {lines.select(n_fields.max()).item()}"
        )
    parsed = lines.with_columns(
        ts=_epoch_to_ts(fields.list.get(0, null_on_oob=True).str.strip_chars().cast(pl.Int64, strict=False)),
        **{
            name: fields.list.get(i, null_on_oob=True).cast(pl.Float64, strict=False)
            for i, name in enumerate(COLUMNS[:9])
            if name in _NUMERIC
        },
        trades=fields.list.get(8, null_on_oob=True).cast(pl.Int64, strict=False),
        buy_volume=fields.list.get(9, null_on_oob=True).cast(pl.Float64, strict=False),
    )
    clean = pl.all_horizontal(pl.col(c).is_not_null() for c in ["ts", "open", "high", "low", "close", "volume"]) & (
        n_fields >= 9
    )
    parsed = parsed.with_columns(raw=pl.when(clean).then(None).otherwise(pl.col("raw")))
    return conform(parsed)
