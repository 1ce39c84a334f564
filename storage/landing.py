"""The landing zone: where raw files arrive. Listing, stat and reading are side effects, so they live here."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from core.errors import ConfigError
from core.formats import SourceFile
from storage.atomic import write_atomic

SUFFIXES = (".csv", ".zip", ".parquet", ".txt", ".json", ".gz")  # .json/.gz: trade dumps (freqtrade)
LISTING_SCHEMA = {"path": pl.String(), "size": pl.UInt64(), "mtime_ns": pl.Int64()}


def _is_candidate(name: str) -> bool:
    # Hidden and partial files (".x", "x.tmp", "x.part") are still being written by someone.
    return not name.startswith(".") and name.lower().endswith(SUFFIXES)


def list_files(paths: Iterable[Path]) -> pl.DataFrame:
    """Every candidate file under ``paths`` (files or directories), absolute, with size and mtime."""
    rows: list[tuple[str, int, int]] = []
    for root in paths:
        root = Path(root).expanduser()
        if not root.exists():
            raise ConfigError(f"ingest path does not exist: {root}")
        if root.is_file():
            found: Iterable[Path] = [root]
        else:
            found = (Path(d) / f for d, dirs, files in os.walk(root) for f in files if not Path(d).name.startswith("."))
        for path in found:
            if _is_candidate(path.name):
                stat = path.stat()
                rows.append((str(path.resolve()), stat.st_size, stat.st_mtime_ns))
    return pl.DataFrame(rows, schema=LISTING_SCHEMA, orient="row").unique("path").sort("path")


def read_file(path: str) -> tuple[SourceFile, str]:
    """The file's bytes and their sha256, from one read."""
    data = Path(path).read_bytes()
    return SourceFile(name=Path(path).name, data=data), hashlib.sha256(data).hexdigest()


def write_file(root: Path, relative: str, data: bytes) -> Path:
    """Place a file in a landing directory atomically, as a well-behaved producer would."""
    return write_atomic((root / relative).resolve(), data)
