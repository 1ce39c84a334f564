"""Which file versions of a batch are new, touched, copies of settled bytes, or superseded.

Pure functions of what a batch read and what the manifest holds, so every decision is testable
without a warehouse. A file version is path + sha256 (ARCHITECTURE §5).
"""

from __future__ import annotations

import polars as pl

from core.parse import FileRef

OUTCOME_UNCHANGED = "unchanged"


def touched_versions(read: list[tuple[FileRef, str]], settled: pl.DataFrame) -> pl.DataFrame:
    """Settled manifest rows whose bytes were read again unchanged under a new mtime, with ``mtime_ns``
    set to the new value: recording it lets the next run skip the file without reading it."""
    if not read or settled.height == 0:
        return settled.clear()
    now = pl.DataFrame(
        {"path": [r.path for r, _ in read], "sha256": [s for _, s in read], "_mtime": [r.mtime_ns for r, _ in read]},
        schema={"path": pl.String, "sha256": pl.String, "_mtime": pl.Int64},
    )
    joined = settled.join(now, on=["path", "sha256"], how="inner")
    return (
        joined.filter(pl.col("_mtime") != pl.col("mtime_ns"))
        .with_columns(pl.col("_mtime").alias("mtime_ns"))
        .drop("_mtime")
    )


def duplicate_contents(read: list[tuple[str, str]], twins: pl.DataFrame) -> dict[str, str]:
    """path -> reason, for files whose bytes are already settled under another path (``twins``: path,
    sha256, status), or held by a path earlier in sort order within the same batch. Such a file is
    reported as a duplicate, never loaded a second time under a second source id."""
    stored: dict[str, tuple[str, str]] = {}
    for path, sha, status in twins.select("path", "sha256", "status").iter_rows():
        stored.setdefault(sha, (path, status))
    first_in_batch: dict[str, str] = {}
    found: dict[str, str] = {}
    for path, sha in sorted(read):
        other = stored.get(sha)
        if other is not None and other[0] != path:
            found[path] = f"duplicate file: the same bytes as {other[0]} ({other[1]})"
        elif sha in first_in_batch:
            found[path] = f"duplicate file: the same bytes as {first_in_batch[sha]} (in this run)"
        else:
            first_in_batch[sha] = path
    return found


def older_versions(settled: pl.DataFrame, current: list[tuple[str, str]], holds_data: tuple[str, ...]) -> pl.DataFrame:
    """Settled manifest rows of the batch's paths whose sha256 differs from the version read now:
    the newer version supersedes them (a corrected re-delivery replaces what the old one loaded)."""
    if settled.height == 0 or not current:
        return settled.clear()
    now = pl.DataFrame(current, schema={"path": pl.String, "sha256": pl.String}, orient="row")
    same_path = settled.join(now.select("path"), on="path", how="semi")
    return same_path.join(now, on=["path", "sha256"], how="anti").filter(pl.col("status").is_in(list(holds_data)))
