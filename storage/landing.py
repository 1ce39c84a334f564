"""The landing zone: where raw files arrive. Listing, stat and reading are side effects, so they live here.

Nothing a landing entry is may stop a run: symlink loops, dangling links, FIFOs, sockets and devices
are listed with the reason they are skipped and never opened for reading (opening a FIFO blocks until
a writer appears — forever); a file is read with ``O_NONBLOCK`` after checking it is a regular file,
and only up to a size bound.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from core.errors import ConfigError, MarketopsError
from core.formats import SourceFile
from storage.atomic import write_atomic

SUFFIXES = (
    ".csv",
    ".zip",
    ".parquet",
    ".txt",
    ".tsv",
    ".gz",
    ".bz2",
    ".xz",
    ".zst",
)
LISTING_SCHEMA = {"path": pl.String(), "size": pl.UInt64(), "mtime_ns": pl.Int64()}
SKIPPED_SCHEMA = {"path": pl.String(), "reason": pl.String()}
_READ_CHUNK = 8 * 2**20


class NotARegularFileError(MarketopsError):
    """A landing entry that is not a regular file (or no longer one): skipped, never read."""


class FileTooLargeError(MarketopsError):
    """A landing file above ``MARKETOPS_INGEST_MAX_FILE_BYTES``: skipped unread."""


def _is_candidate(name: str) -> bool:
    # Hidden and partial files (".x", "x.tmp", "x.part") are still being written by someone.
    return not name.startswith(".") and name.lower().endswith(SUFFIXES)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def inspect_entry(path: Path) -> tuple[os.stat_result | None, str | None]:
    """(stat of the entry's target, None) for a regular file; (None, why it is skipped) otherwise.

    Only ``stat`` calls: nothing here opens the entry."""
    try:
        link = path.lstat()
    except OSError as exc:
        return None, f"cannot stat: {exc.strerror or exc}"
    try:
        target = path.stat()
    except OSError as exc:
        if stat.S_ISLNK(link.st_mode):
            if exc.errno == errno.ELOOP:
                return None, "symlink loop"
            if exc.errno == errno.ENOENT:
                return None, f"dangling symlink (target {os.readlink(path)!r} does not exist)"
        return None, f"cannot stat: {exc.strerror or exc}"
    if not stat.S_ISREG(target.st_mode):
        via = " (via a symlink)" if stat.S_ISLNK(link.st_mode) else ""
        return None, f"{_kind(target.st_mode)}{via}, not a regular file: never opened"
    return target, None


def _walk(root: Path) -> Iterable[Path]:
    def hidden(d: str) -> bool:
        return Path(d).name.startswith(".")

    return (Path(d) / f for d, _dirs, files in os.walk(root) if not hidden(d) for f in files)


def scan(paths: Iterable[Path]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(listing, skipped): every candidate regular file under ``paths`` (absolute, real path, size, mtime),
    and every candidate entry that is skipped with its reason. ``os.walk`` never follows directory links."""
    rows: list[tuple[str, int, int]] = []
    skipped: list[tuple[str, str]] = []
    for root in paths:
        root = Path(root).expanduser()
        if not root.exists() and not root.is_symlink():
            raise ConfigError(f"ingest path does not exist: {root}")
        found: Iterable[Path] = [root] if not root.is_dir() else _walk(root)
        for path in found:
            if not _is_candidate(path.name):
                continue
            info, reason = inspect_entry(path)
            if info is None:
                skipped.append((str(path.absolute()), reason or "skipped"))
                continue
            rows.append((str(path.resolve()), info.st_size, info.st_mtime_ns))
    listing = pl.DataFrame(rows, schema=LISTING_SCHEMA, orient="row").unique("path").sort("path")
    return listing, pl.DataFrame(skipped, schema=SKIPPED_SCHEMA, orient="row").unique("path").sort("path")


def list_files(paths: Iterable[Path]) -> pl.DataFrame:
    """Every candidate regular file under ``paths`` (files or directories), absolute, with size and mtime."""
    return scan(paths)[0]


def read_file(path: str, max_bytes: int | None = None) -> tuple[SourceFile, str]:
    """The file's bytes and their sha256, from one bounded read.

    Opened with ``O_NONBLOCK`` and checked with ``fstat`` before reading, so an entry that became a FIFO
    or device since it was listed is refused instead of blocking the run."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFileError(f"{_kind(info.st_mode)}, not a regular file: not read")
        if max_bytes is not None and info.st_size > max_bytes:
            raise FileTooLargeError(
                f"file of {info.st_size:,} bytes is above MARKETOPS_INGEST_MAX_FILE_BYTES ({max_bytes:,}): not read"
            )
        limit = max_bytes if max_bytes is not None else info.st_size
        chunks: list[bytes] = []
        total = 0
        while True:  # a file growing while it is read stops at the bound, it cannot grow the read forever
            chunk = os.read(fd, min(_READ_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise FileTooLargeError(f"file grew past {limit:,} bytes while it was read: not read")
    finally:
        os.close(fd)
    data = b"".join(chunks)
    return SourceFile(name=Path(path).name, data=data), hashlib.sha256(data).hexdigest()


def write_file(root: Path, relative: str, data: bytes) -> Path:
    """Place a file in a landing directory atomically, as a well-behaved producer would."""
    return write_atomic((root / relative).resolve(), data)
