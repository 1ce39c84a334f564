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
        "SELECT path, sha256 FROM ingest_files FINAL "
        "WHERE status IN {settled:Array(String)} AND path IN {paths:Array(String)}",
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
    replay_of: str | None = None,
) -> None:
    """Write a judged batch: data first, manifest last, each insert with a deterministic token.

    A crash anywhere in here leaves the files unsettled, so the next run loads them again; the
    repeated inserts carry the same tokens and are dropped, and ReplacingMergeTree keys catch any
    repeat the tokens miss (e.g. a batch regrouped around a newly arrived file).

    A replay (``replay_of`` = its run id) judges the same file versions again: its tokens are salted
    so the inserts are not dropped as repeats, and the earlier quarantine rows and ingest anomalies
    of those files are deleted first (rows that pass now must leave quarantine). A crash after the
    delete leaves the old manifest row, so the replay picks the file again.
    """
    salt = f":replay:{replay_of}" if replay_of else ""
    if replay_of:
        ids = manifest["source_id"].to_list()
        warehouse.execute("DELETE FROM quarantine_bars WHERE source_id IN {ids:Array(UInt64)}", {"ids": ids})
        warehouse.execute(
            "DELETE FROM anomalies WHERE origin = 'ingest' AND source_id IN {ids:Array(UInt64)}", {"ids": ids}
        )
    warehouse.insert_df("bars_1m", bars, batch_token(members, "bars_1m" + salt))
    warehouse.insert_df("quarantine_bars", quarantine, batch_token(members, "quarantine_bars" + salt))
    warehouse.insert_df("anomalies", anomalies, batch_token(members, "anomalies" + salt))
    warehouse.insert_df("ingest_files", manifest, batch_token(members, "ingest_files" + salt))
