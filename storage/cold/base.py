"""The cold-store role: Parquet files and small metadata objects addressed by paths relative to a root.

Two implementations: ``LocalColdStore`` (a directory; temporary name + rename) and ``S3ColdStore``
(a bucket prefix on any S3 API; a PUT is all or nothing). Both keep the same layout and the same
promise: a reader never sees half a file, and the manifest is written after the data it vouches for.
Settings choose the implementation (``storage.cold.factory.cold_store``); callers never branch on it.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import re
from abc import ABC, abstractmethod
from datetime import date
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

import polars as pl

from core.errors import ConfigError


def check_relative(relative: str) -> PurePosixPath:
    """Checked lexically (no I/O): relative, no ``..``, no empty parts — a cold path never escapes its root."""
    path = PurePosixPath(relative)
    if not path.parts or path.is_absolute() or any(p in ("..", ".", "") for p in path.parts):
        raise ConfigError(f"cold path {relative!r} escapes the cold root")
    return path


@lru_cache(maxsize=64)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = []
    for part in re.split(r"(\*\*/|\*|\?)", pattern):
        out.append({"**/": "(?:[^/]+/)*", "*": "[^/]*", "?": "[^/]"}.get(part, re.escape(part)))
    return re.compile("".join(out) + r"\Z")


def glob_match(pattern: str, relative: str) -> bool:
    """``pathlib``-style glob on relative posix paths (``*`` within a part, ``**/`` any number of parts)."""
    return _glob_regex(pattern).match(relative) is not None


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    """The exact bytes a cache file holds (zstd, with statistics): serialized whole before any I/O starts.

    Rechunked first: the writer follows the frame's chunks, which mirror the warehouse's result blocks
    or an Arrow hand-over between processes; one chunk makes the file layout independent of both."""
    buffer = io.BytesIO()
    frame.rechunk().write_parquet(buffer, compression="zstd", statistics=True)
    return buffer.getvalue()


# The options of a day-grouped file (see :func:`parquet_bytes_by_day`). A day is ~1,500 rows, so the work per
# column chunk (a file has ~31 x 15) outweighs the work per value: data pages v2, statistics on ``ts`` alone and no
# dictionary pages (one zstd call less per text column chunk) took ~15% off its serialization together.
DAY_GROUPED_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "data_page_version": "2.0",
    "write_statistics": ["ts"],
    "use_dictionary": False,
}


def parquet_bytes_by_day(frame: pl.DataFrame, days: list[tuple[date, int]]) -> bytes:
    """The bytes of a day-grouped cache file: one row group per entry of ``days`` ((day, rows), in row order).

    Written with pyarrow's writer (zstd at pyarrow's default level, 1), whose ``write_table`` closes a row group per
    call: a reader filtering on ``ts`` skips whole days by their statistics, and the footer lists each day's rows.
    Statistics on ``ts`` only: nothing prunes on the other columns, and each column chunk's min/max cost time.
    Data pages v2 (read by pyarrow, polars and DuckDB alike): levels stay uncompressed beside the values.
    No dictionary encoding: on float columns it cost more than half the write and saved nothing (prices rarely
    repeat); on the text columns (``price_side``, ``bar_source``: one value a day, as a rule) zstd folds the
    repeats of a plain page as small, without a second page to compress per column chunk."""
    import pyarrow.parquet as pq  # imported here: status and listings never pay for pyarrow

    table = frame.rechunk().to_arrow()
    buffer = io.BytesIO()
    options = dict(DAY_GROUPED_OPTIONS)
    options["write_statistics"] = [c for c in options["write_statistics"] if c in table.column_names]
    with pq.ParquetWriter(buffer, table.schema, **options) as writer:
        offset = 0
        for _, rows in days:
            writer.write_table(table.slice(offset, rows), row_group_size=max(rows, 1))
            offset += rows
    return buffer.getvalue()


def parquet_rows(data: bytes) -> int:
    """Row count from the footer alone."""
    import pyarrow as pa  # imported here: status and listings never pay for pyarrow
    import pyarrow.parquet as pq

    return int(pq.read_metadata(pa.BufferReader(data)).num_rows)


def row_group_rows(data: bytes) -> builtins.list[int]:
    """Rows of each row group, from the footer alone."""
    import pyarrow as pa  # imported here: status and listings never pay for pyarrow
    import pyarrow.parquet as pq

    meta = pq.read_metadata(pa.BufferReader(data))
    return [int(meta.row_group(i).num_rows) for i in range(meta.num_row_groups)]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ColdStore(ABC):
    """Parquet files and metadata objects under one root (a directory or a bucket prefix)."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the cache lives, for people (a path or ``s3://bucket/prefix``; never credentials)."""

    @property
    @abstractmethod
    def catalog_root(self) -> Path | None:
        """Local directory for the DuckDB catalog, or None when DuckDB cannot read this store."""

    @abstractmethod
    def uri(self, relative: str) -> str:
        """Address of one file for polars/pyarrow/DuckDB (use with :meth:`storage_options`)."""

    @abstractmethod
    def storage_options(self) -> dict[str, str] | None:
        """What ``pl.read_parquet(uri, storage_options=...)`` needs (None for a local path)."""

    @abstractmethod
    def write_bytes(self, relative: str, data: bytes, durable: bool = True) -> None:
        """Write one object whole or not at all."""

    @abstractmethod
    def read_bytes(self, relative: str) -> bytes:
        """Raise ``FileNotFoundError`` when it does not exist."""

    @abstractmethod
    def exists(self, relative: str) -> bool: ...

    @abstractmethod
    def delete(self, relative: str) -> None:
        """Remove one file (a stale cache file); absent is fine."""

    @abstractmethod
    def list(self, pattern: str = "**/*.parquet") -> builtins.list[str]:
        """Visible files matching ``pattern``, sorted; never a half-written one."""

    @abstractmethod
    def sweep_temporaries(self) -> builtins.list[str]:
        """Remove what killed writers left behind; returns what was removed."""

    @abstractmethod
    def sync(self) -> None:
        """Make every write so far durable (called once before a manifest is published)."""

    def write_parquet(self, relative: str, frame: pl.DataFrame, durable: bool = True) -> str:
        """Write atomically; returns the sha256 of the bytes written (for the cache manifest)."""
        data = parquet_bytes(frame)
        self.write_bytes(relative, data, durable=durable)
        return sha256_hex(data)

    def read_parquet(self, relative: str) -> pl.DataFrame:
        return pl.read_parquet(io.BytesIO(self.read_bytes(relative)))

    def read_last_row_group(self, relative: str) -> pl.DataFrame:
        """The last row group of a file alone (the newest day of a day-grouped file)."""
        import pyarrow as pa  # imported here: status and listings never pay for pyarrow
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(pa.BufferReader(self.read_bytes(relative)))
        frame = pl.from_arrow(parquet.read_row_group(parquet.num_row_groups - 1))
        assert isinstance(frame, pl.DataFrame)
        return frame

    def describe(self) -> dict[str, Any]:
        return {"backend": type(self).__name__, "location": self.location}
