"""The ingest ledger in the warm tier: which file versions are loaded, and the batch write itself."""

from __future__ import annotations

import polars as pl

from core.fingerprint import batch_token
from storage.warm.base import Warehouse

# A file in one of these states is done; "failed" ones are tried again on the next run.
SETTLED = ("loaded", "partial", "quarantined")


def settled_files(warehouse: Warehouse) -> pl.DataFrame:
    """path, size, mtime_ns, sha256 of every settled file version (latest row per version)."""
    return warehouse.query_df(
        "SELECT path, size, mtime_ns, sha256 FROM ingest_files FINAL WHERE status IN {settled:Array(String)}",
        {"settled": list(SETTLED)},
    )


def settled_versions(warehouse: Warehouse, paths: list[str]) -> set[tuple[str, str]]:
    """(path, sha256) pairs among ``paths`` that are already settled."""
    if not paths:
        return set()
    frame = warehouse.query_df(
        "SELECT path, sha256 FROM ingest_files FINAL WHERE status IN {settled:Array(String)} AND path IN {paths:Array(String)}",
        {"settled": list(SETTLED), "paths": paths},
    )
    return set(frame.iter_rows())


def write_batch(
    warehouse: Warehouse,
    members: list[tuple[str, str]],
    bars: pl.DataFrame,
    quarantine: pl.DataFrame,
    anomalies: pl.DataFrame,
    manifest: pl.DataFrame,
) -> None:
    """Write a judged batch: data first, manifest last, each insert with a deterministic token.

    A crash anywhere in here leaves the files unsettled, so the next run loads them again; the
    repeated inserts carry the same tokens and are dropped, and ReplacingMergeTree keys catch any
    repeat the tokens miss (e.g. a batch regrouped around a newly arrived file).
    """
    warehouse.insert_df("bars_1m", bars, batch_token(members, "bars_1m"))
    warehouse.insert_df("quarantine_bars", quarantine, batch_token(members, "quarantine_bars"))
    warehouse.insert_df("anomalies", anomalies, batch_token(members, "anomalies"))
    warehouse.insert_df("ingest_files", manifest, batch_token(members, "ingest_files"))
