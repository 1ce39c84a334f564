"""Trade files in the landing zone, read as a stream of batches so memory does not grow with the file.

CSV goes through pyarrow's streaming reader (block by block, from a plain file, a zip member or a
gzip stream); Parquet row group by row group; JSON (freqtrade dumps) whole. The reader's layout says
which columns to type on the fast path; ``lenient`` reads every column as text and skips ragged rows,
reporting them (line number and text) so they are quarantined alone.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from core.errors import UnreadableFileError
from core.trades.spec import Layout, TradeHead

HEAD_BYTES = 65_536
BLOCK_BYTES = 32 << 20
PARQUET_ROWS = 1_000_000
POLARS_ROWS = 1_000_000


def sha256_file(path: str, chunk: int = 8 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def _payload(path: str) -> Iterator[tuple[IO[bytes], str]]:
    """The file's data stream (a zip's single member, gunzipped ``.gz``) and the member name."""
    lower = path.lower()
    if lower.endswith(".zip"):
        try:
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.namelist() if not m.endswith("/")]
                if len(members) != 1:
                    raise UnreadableFileError(f"zip archive holds {len(members)} files, expected exactly 1")
                with archive.open(members[0]) as stream:
                    yield stream, members[0]
        except zipfile.BadZipFile as exc:
            raise UnreadableFileError(f"not a readable zip archive: {exc}") from exc
    elif lower.endswith(".gz"):
        with gzip.open(path, "rb") as unzipped:
            yield unzipped, ""  # type: ignore[misc]  # GzipFile is a binary IO; typeshed does not say IO[bytes]
    else:
        with open(path, "rb") as stream:
            yield stream, ""


def read_head(path: str) -> TradeHead:
    """What sniffing needs: the first bytes of the payload, or a Parquet file's columns and metadata."""
    if path.lower().endswith(".parquet"):
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowException, OSError) as exc:
            raise UnreadableFileError(f"not a readable Parquet file: {exc}") from exc
        meta = {k.decode(errors="replace"): v.decode(errors="replace") for k, v in (schema.metadata or {}).items()}
        return TradeHead(path, "", "", tuple(schema.names), meta)
    try:
        with _payload(path) as (stream, member):
            data = stream.read(HEAD_BYTES)
    except (OSError, EOFError, zlib.error) as exc:  # a corrupt .gz is unreadable, not a crash
        raise UnreadableFileError(f"cannot read file: {exc}") from exc
    return TradeHead(path, member, data.decode("utf-8", errors="replace"))


def _arrow_type(dtype: pl.DataType) -> pa.DataType:
    return pa.int64() if dtype.is_integer() else pa.float64() if dtype.is_float() else pa.string()


def stream_batches(
    path: str, layout: Layout, lenient: bool = False, bad_rows: list[tuple[int, str]] | None = None
) -> Iterator[pl.DataFrame]:
    """Raw batches with the layout's column names and a ``line`` column (1-based line in the file).

    ``lenient``: every column as text, ragged rows skipped and appended to ``bad_rows`` as (line, text).
    A typed read that meets a value it cannot convert raises ``pyarrow.ArrowInvalid``: the caller then
    starts over leniently.
    """
    if layout.kind == "parquet":
        yield from _parquet_batches(path)
        return
    if layout.kind == "json":
        yield _json_batch(path, layout)
        return
    if not lenient and not path.lower().endswith((".zip", ".gz")):
        yield from _polars_csv_batches(path, layout)
        return
    yield from _csv_batches(path, layout, lenient, bad_rows if bad_rows is not None else [])


def _polars_csv_batches(path: str, layout: Layout) -> Iterator[pl.DataFrame]:
    """Typed fast path for a plain CSV: polars' streaming engine, multi-threaded, batch by batch."""
    schema = {n: layout.types.get(n, pl.String()) for n in layout.names}
    scan = pl.scan_csv(path, has_header=False, skip_rows=layout.skip_rows, schema=schema)
    scan = scan.with_row_index("line", offset=layout.skip_rows + 1)
    if layout.keep:
        scan = scan.select("line", *layout.keep)
    yield from scan.collect_batches(chunk_size=POLARS_ROWS)


def _csv_batches(path: str, layout: Layout, lenient: bool, bad_rows: list[tuple[int, str]]) -> Iterator[pl.DataFrame]:
    names = list(layout.names)
    types = (
        {n: pa.string() for n in names}
        if lenient
        else {n: _arrow_type(t) for n, t in layout.types.items() if n in names}
    )
    types |= {n: pa.string() for n in names if n not in types}
    skipped: list[int] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad_rows.append((int(row.number or 0), row.text))
        skipped.append(int(row.number or 0))
        return "skip"

    with _payload(path) as (stream, _member):
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=layout.skip_rows, block_size=BLOCK_BYTES, use_threads=not lenient
            ),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid if lenient else None),
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True),
        )
        next_line = layout.skip_rows + 1
        for record in reader:
            frame = pl.from_arrow(record)
            assert isinstance(frame, pl.DataFrame)
            lines, next_line = _line_numbers(frame.height, next_line, skipped)
            yield frame.with_columns(pl.Series("line", lines, pl.UInt32))


def _line_numbers(n: int, start: int, skipped: list[int]) -> tuple[list[int] | range, int]:
    """File line numbers of ``n`` parsed rows from ``start`` on, stepping over rows skipped as invalid."""
    if not skipped:
        return range(start, start + n), start + n
    gone = set(skipped)
    lines: list[int] = []
    line = start
    while len(lines) < n:
        if line not in gone:
            lines.append(line)
        line += 1
    return lines, line


def _parquet_batches(path: str) -> Iterator[pl.DataFrame]:
    offset = 1
    for record in pq.ParquetFile(path).iter_batches(batch_size=PARQUET_ROWS):
        frame = pl.from_arrow(record)
        assert isinstance(frame, pl.DataFrame)
        yield frame.with_columns(pl.int_range(offset, offset + frame.height, dtype=pl.UInt32).alias("line"))
        offset += frame.height


def _json_batch(path: str, layout: Layout) -> pl.DataFrame:
    """A JSON list of lists (freqtrade): every field as text, one row per trade."""
    with _payload(path) as (stream, _member):
        try:
            rows = json.load(io.TextIOWrapper(stream, encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UnreadableFileError(f"not a JSON list of trades: {exc}") from exc
    if not isinstance(rows, list) or any(not isinstance(r, list) for r in rows):
        raise UnreadableFileError("not a JSON list of lists of trade fields")
    names = list(layout.names)
    columns = {n: [None if i >= len(r) or r[i] is None else str(r[i]) for r in rows] for i, n in enumerate(names)}
    frame = pl.DataFrame(columns, schema=dict.fromkeys(names, pl.String()))
    return frame.with_columns(pl.int_range(1, frame.height + 1, dtype=pl.UInt32).alias("line"))


def is_trade_candidate(path: str) -> bool:
    return Path(path).suffix.lower() in (".csv", ".zip", ".parquet", ".txt", ".json", ".gz")
