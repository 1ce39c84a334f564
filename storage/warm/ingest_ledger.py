"""The ingest ledger in the warm tier: which file versions are settled, and the batch write itself."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from core.fingerprint import batch_token
from storage.warm.base import Warehouse

# A file in one of these states is done; "failed" and "skipped" ones are tried again on the next run.
SETTLED = ("loaded", "partial", "quarantined", "duplicate")
# States whose file version holds data (bars or quarantined rows) that a newer version replaces.
HOLDS_DATA = ("loaded", "partial", "quarantined")
_TS = "DateTime64(3, 'UTC')"
# Bars go in slices of this many rows: the Arrow buffer and the engine's insert blocks stay this big however
# large the batch, so a batch's write costs memory by the slice, not by the batch.
INSERT_ROWS = 262_144


def settled_files(warehouse: Warehouse) -> pl.DataFrame:
    """path, size, mtime_ns, sha256 of every settled file version (latest row per version)."""
    return warehouse.query_df(
        "SELECT path, size, mtime_ns, sha256 FROM ingest_files FINAL WHERE status IN {settled:Array(String)}",
        {"settled": list(SETTLED)},
    )


def settled_rows(warehouse: Warehouse, paths: list[str]) -> pl.DataFrame:
    """The settled manifest rows (all columns) of ``paths``: every version, latest row per version."""
    if not paths:
        return pl.DataFrame(schema={"path": pl.String, "sha256": pl.String, "source_id": pl.UInt64})
    return warehouse.query_df(
        "SELECT * FROM ingest_files FINAL WHERE status IN {settled:Array(String)} AND path IN {paths:Array(String)}",
        {"settled": list(SETTLED), "paths": paths},
    )


def settled_versions(warehouse: Warehouse, paths: list[str]) -> set[tuple[str, str]]:
    """(path, sha256) pairs among ``paths`` that are already settled."""
    frame = settled_rows(warehouse, paths)
    return set(frame.select("path", "sha256").iter_rows())


def content_twins(warehouse: Warehouse, shas: list[str]) -> pl.DataFrame:
    """path, sha256, status of settled file versions holding these bytes (to report copies under a new path)."""
    if not shas:
        return pl.DataFrame(schema={"path": pl.String, "sha256": pl.String, "status": pl.String})
    return warehouse.query_df(
        """SELECT path, sha256, toString(status) AS status FROM ingest_files FINAL
           WHERE status IN {held:Array(String)} AND sha256 IN {shas:Array(String)} ORDER BY path""",
        {"held": list(HOLDS_DATA), "shas": shas},
    )


def stored_copies(warehouse: Warehouse, bars: pl.DataFrame, exclude: list[int]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(copies, files): what the store serves (FINAL) at the minutes of ``bars`` from files other than
    ``exclude``, and the source_id, path and size of each such file — so a batch resolves overlaps with
    earlier runs exactly like overlaps inside itself."""
    paths_schema = {"source_id": pl.UInt64, "path": pl.String, "size": pl.UInt64}
    if bars.height == 0:
        return bars.clear(), pl.DataFrame(schema=paths_schema)
    found = warehouse.query_df(
        f"""SELECT toString(venue) AS venue, symbol, ts, source_id, version, open, high, low, close, volume
            FROM bars_1m FINAL
            WHERE venue IN {{venues:Array(String)}} AND symbol IN {{symbols:Array(String)}}
              AND ts >= {{first:{_TS}}} AND ts <= {{last:{_TS}}} AND source_id NOT IN {{exclude:Array(UInt64)}}""",
        {
            "venues": bars["venue"].unique().to_list(),
            "symbols": bars["symbol"].unique().to_list(),
            "first": bars["ts"].min(),
            "last": bars["ts"].max(),
            "exclude": exclude or [0],
        },
    )
    if found.height == 0:
        return bars.clear(), pl.DataFrame(schema=paths_schema)
    found = found.with_columns(pl.col("ts").cast(bars["ts"].dtype)).join(
        bars.select("venue", "symbol", "ts"), on=["venue", "symbol", "ts"], how="semi"
    )
    paths = warehouse.query_df(
        "SELECT DISTINCT source_id, path, size FROM ingest_files WHERE source_id IN {ids:Array(UInt64)}",
        {"ids": found["source_id"].unique().to_list() or [0]},
    )
    return found, paths


def touch_manifest(warehouse: Warehouse, rows: pl.DataFrame) -> None:
    """Record the new mtime of touched-but-unchanged file versions (``rows``: their manifest rows with the
    new ``mtime_ns``), so the next run skips them without reading; ``ingested_at`` moves by one
    microsecond so the new row wins FINAL."""
    if rows.height == 0:
        return
    warehouse.insert_df(
        "ingest_files", rows.with_columns((pl.col("ingested_at") + timedelta(microseconds=1)).alias("ingested_at"))
    )


def record_skipped(warehouse: Warehouse, skipped: pl.DataFrame, run_id: str, now: datetime) -> None:
    """One ``skipped`` manifest row per landing entry that is not a regular readable file, with the reason."""
    if skipped.height == 0:
        return
    rows = skipped.select(
        "path",
        pl.lit(0, pl.UInt64).alias("size"),
        pl.lit(0, pl.Int64).alias("mtime_ns"),
        pl.lit("").alias("sha256"),
        pl.lit(0, pl.UInt64).alias("source_id"),
        pl.lit("").alias("format"),
        pl.lit("").alias("venue"),
        pl.lit("").alias("symbol"),
        *(pl.lit(0, pl.UInt64).alias(c) for c in ("rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate")),
        pl.lit("skipped").alias("status"),
        pl.format('[{{"reason": {}}}]', pl.col("reason").map_elements(_json_string, return_dtype=pl.String)).alias(
            "reasons"
        ),
        pl.lit(run_id).alias("run_id"),
        pl.lit(now).cast(pl.Datetime("us", "UTC")).alias("ingested_at"),
    )
    warehouse.insert_df("ingest_files", rows)


def _json_string(text: str) -> str:
    import json

    return json.dumps(text)


def insert_bars(warehouse: Warehouse, bars: pl.DataFrame, token: str) -> None:
    """Insert ``bars`` in slices of :data:`INSERT_ROWS`; slice ``i`` carries a token derived from ``token``
    and ``i``, so a rerun of the same batch (same rows, same order) repeats every token and is dropped.

    A judged batch holds one row per (venue, symbol, minute): the gate drops a file's repeated minutes and
    :func:`validation.batch.resolve_overlaps` lets one file's copy of a shared minute in, so the engine is
    told the keys are unique and skips folding each slice on insert."""
    for index, start in enumerate(range(0, bars.height, INSERT_ROWS)):
        piece = token if index == 0 else batch_token([(token, str(index))], "bars_1m slice")
        warehouse.insert_df("bars_1m", bars.slice(start, INSERT_ROWS), piece, keys_unique=True)


def write_batch(
    warehouse: Warehouse,
    members: list[tuple[str, str]],
    bars: pl.DataFrame,
    quarantine: pl.DataFrame,
    anomalies: pl.DataFrame,
    manifest: pl.DataFrame,
    replay_of: str | None = None,
    superseded: pl.DataFrame | None = None,
    version: int | None = None,
) -> None:
    """Write a judged batch: data first, manifest last, each insert with a deterministic token.

    A crash anywhere in here leaves the files unsettled, so the next run loads them again; the
    repeated inserts carry the same tokens and are dropped, and ReplacingMergeTree keys catch any
    repeat the tokens miss (e.g. a batch regrouped around a newly arrived file).

    A reprocess or replay (``replay_of`` = its run id) judges the same file versions again: its tokens are
    salted so the inserts are not dropped as repeats, the earlier quarantine rows and ingest anomalies of
    those files are deleted first (rows that pass now must leave quarantine), and after the new bars are in,
    the bars of earlier loads of those files go (every ``version`` but this load's: a time-zone fix moves
    bars, and none may stay twice).
    A crash in between leaves the old manifest row, so the replay picks the file again.

    ``superseded``: manifest rows of older versions of the batch's paths. Their bars, quarantine rows and
    ingest anomalies are deleted after the new version's bars are in, and their rows are re-recorded as
    ``superseded`` with the manifest, so they no longer count anywhere.
    """
    salt = f":replay:{replay_of}" if replay_of else ""
    ids = manifest["source_id"].to_list()
    if replay_of:
        warehouse.delete("quarantine_bars", "source_id IN {ids:Array(UInt64)}", {"ids": ids})
        warehouse.delete("anomalies", "origin = 'ingest' AND source_id IN {ids:Array(UInt64)}", {"ids": ids})
    insert_bars(warehouse, bars, batch_token(members, "bars_1m" + salt))
    if replay_of:
        keep = sorted({*bars["version"].unique().to_list(), *([version] if version is not None else [])}) or [0]
        warehouse.delete(
            "bars_1m",
            "source_id IN {ids:Array(UInt64)} AND version NOT IN {keep:Array(UInt64)}",
            {"ids": ids, "keep": keep},
        )
    old_ids = superseded["source_id"].to_list() if superseded is not None and superseded.height else []
    if old_ids:
        for table in ("bars_1m", "quarantine_bars"):
            warehouse.delete(table, "source_id IN {ids:Array(UInt64)}", {"ids": old_ids})
        warehouse.delete("anomalies", "origin = 'ingest' AND source_id IN {ids:Array(UInt64)}", {"ids": old_ids})
    warehouse.insert_df("quarantine_bars", quarantine, batch_token(members, "quarantine_bars" + salt))
    warehouse.insert_df("anomalies", anomalies, batch_token(members, "anomalies" + salt))
    if superseded is not None and superseded.height:
        now = manifest["ingested_at"].max()
        manifest = pl.concat(
            [
                manifest,
                superseded.select(manifest.columns).with_columns(
                    pl.lit("superseded").alias("status"),
                    pl.lit(now).cast(manifest["ingested_at"].dtype).alias("ingested_at"),
                ),
            ],
            how="vertical_relaxed",
        )
    warehouse.insert_df("ingest_files", manifest, batch_token(members, "ingest_files" + salt))
