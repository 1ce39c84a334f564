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


def plan_batches(
    listing: pl.DataFrame,
    max_files: int,
    venue: str | None = None,
    symbol: str | None = None,
    max_bytes: int | None = None,
) -> list[BatchSpec]:
    """Deterministic batches: the same listing always yields the same batches in the same order.

    Files are grouped by venue x symbol x month; whole groups are then packed into one batch until
    ``max_files`` or ``max_bytes`` would be exceeded (a group larger than that is split). Per-batch
    work has a fixed cost (contracts, checks, one insert per table), so a handful of large batches
    beats hundreds of small ones, while the cap bounds a task's memory.
    """
    groups: dict[str, list[FileRef]] = {}
    for path, size, mtime_ns in listing.sort("path").iter_rows():
        named = identify(path)
        key = f"{venue or named.venue or 'auto'}/{symbol or named.symbol or 'unknown'}/{named.period or 'undated'}"
        groups.setdefault(key, []).append(FileRef(path=path, size=size, mtime_ns=mtime_ns))
    byte_cap = max_bytes or 2**62
    batches: list[BatchSpec] = []
    keys: list[str] = []
    files: list[FileRef] = []
    size = 0

    def flush() -> None:
        nonlocal keys, files, size
        if files:
            label = keys[0] if len(keys) == 1 else f"{keys[0]} .. {keys[-1]} ({len(keys)} groups)"
            batches.append(BatchSpec(key=label, files=tuple(files)))
        keys, files, size = [], [], 0

    for key in sorted(groups):
        for ref in groups[key]:
            if files and (len(files) >= max_files or size + ref.size > byte_cap):
                flush()
            if not keys or keys[-1] != key:
                keys.append(key)
            files.append(ref)
            size += ref.size
    flush()
    return batches
