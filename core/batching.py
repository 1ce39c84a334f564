"""Group discovered files into batches of venue x symbol x month: one Prefect task per batch.

Orchestration costs ~20 ms a task, so per-file tasks would drown a large backfill in bookkeeping;
per-file state lives in the ``ingest_files`` manifest instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from core.formats.naming import identify
from core.parse import FileRef


@dataclass(frozen=True)
class BatchSpec:
    key: str  # venue/symbol/month as far as file names tell
    files: tuple[FileRef, ...]


def unchanged(listing: pl.DataFrame, settled: pl.DataFrame) -> pl.DataFrame:
    """Rows of ``listing`` whose path, size and mtime match a settled manifest row (no need to hash)."""
    keys = ["path", "size", "mtime_ns"]
    return listing.join(settled.select(keys).unique(), on=keys, how="semi")


def plan_batches(listing: pl.DataFrame, max_files: int, venue: str | None = None, symbol: str | None = None) -> list[BatchSpec]:
    """Deterministic batches: the same listing always yields the same batches in the same order."""
    groups: dict[str, list[FileRef]] = {}
    for path, size, mtime_ns in listing.sort("path").iter_rows():
        named = identify(path)
        key = f"{venue or named.venue or 'auto'}/{symbol or named.symbol or 'unknown'}/{named.period or 'undated'}"
        groups.setdefault(key, []).append(FileRef(path=path, size=size, mtime_ns=mtime_ns))
    batches: list[BatchSpec] = []
    for key in sorted(groups):
        refs = groups[key]
        for start in range(0, len(refs), max_files):
            batches.append(BatchSpec(key=key, files=tuple(refs[start : start + max_files])))
    return batches
