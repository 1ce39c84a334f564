"""The cold tier's manifest (one row per file: rows, sha256, source version, build time) and build state.

Both live in the cold root, so a copy of the cache can be verified without the warehouse, and both are
written atomically after the data files they describe.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import polars as pl

from core.cold_layout import FINGERPRINT_SCHEMA, LEGACY_GLOB, MANIFEST, SOURCES, STATE, glob_for, is_legacy_path
from storage.cold.base import ColdStore, parquet_rows, row_group_rows, sha256_hex

MANIFEST_SCHEMA = {
    "path": pl.String(),
    "dataset": pl.String(),
    "venue": pl.String(),
    "symbol": pl.String(),
    "period": pl.String(),
    "rows": pl.UInt64(),
    "sha256": pl.String(),
    "source_version": pl.UInt64(),
    "built_at": pl.Datetime("us", "UTC"),
    # day-grouped files (bars_1m, features_1m): the UTC day and rows of each row group, in order; null otherwise
    "days": pl.List(pl.Date()),
    "day_rows": pl.List(pl.UInt64()),
}


def read_manifest(store: ColdStore) -> pl.DataFrame:
    """The manifest; one written by the first layout (no ``days``/``day_rows``) reads with them null."""
    if not store.exists(MANIFEST):
        return pl.DataFrame(schema=MANIFEST_SCHEMA)
    frame = store.read_parquet(MANIFEST)
    missing = [pl.lit(None, dtype).alias(name) for name, dtype in MANIFEST_SCHEMA.items() if name not in frame.columns]
    return frame.with_columns(missing).select(list(MANIFEST_SCHEMA)).cast(MANIFEST_SCHEMA)  # type: ignore[arg-type]


def legacy_files(store: ColdStore) -> list[str]:
    """Data files of the first layout (daily ``date=`` files), on disk or in the manifest: a build that finds
    any rebuilds everything in the current layout and deletes them."""
    listed = read_manifest(store).get_column("path").to_list()
    return sorted({p for p in listed if is_legacy_path(p)} | set(store.list(LEGACY_GLOB)))


def manifest_frame(rows: list[dict[str, Any]] | list[pl.DataFrame] | pl.DataFrame) -> pl.DataFrame:
    """Manifest rows given as dicts, as frames or as one frame, in the manifest's schema (in their order)."""
    if isinstance(rows, pl.DataFrame):
        return rows.select(list(MANIFEST_SCHEMA)).cast(MANIFEST_SCHEMA)  # type: ignore[arg-type]
    if rows and all(isinstance(r, pl.DataFrame) for r in rows):
        return pl.concat([manifest_frame(r) for r in rows if isinstance(r, pl.DataFrame)])
    return pl.DataFrame(rows, schema=MANIFEST_SCHEMA)


def merge_manifest(store: ColdStore, rows: list[dict[str, Any]] | list[pl.DataFrame] | pl.DataFrame) -> pl.DataFrame:
    """Upsert rows (dicts or frames, see :func:`manifest_frame`) by path and write the manifest atomically."""
    new = manifest_frame(rows).unique("path", keep="last", maintain_order=True)
    merged = pl.concat([read_manifest(store).join(new.select("path"), on="path", how="anti"), new]).sort("path")
    store.write_parquet(MANIFEST, merged)
    return merged


def drop_from_manifest(store: ColdStore, paths: list[str]) -> None:
    """Forget files that were deleted (stale: no warm day backs them any more)."""
    manifest = read_manifest(store)
    store.write_parquet(MANIFEST, manifest.filter(~pl.col("path").is_in(paths)))


def read_sources(store: ColdStore) -> pl.DataFrame:
    """The warm fingerprint (rows, hash) every cold symbol-day was last built from."""
    if not store.exists(SOURCES):
        return pl.DataFrame(schema=FINGERPRINT_SCHEMA)
    return store.read_parquet(SOURCES).cast(FINGERPRINT_SCHEMA)  # type: ignore[arg-type]


def merge_sources(store: ColdStore, built: pl.DataFrame) -> None:
    """Upsert the fingerprints of the days just built (written after the data and the manifest)."""
    key = ["venue", "symbol", "day"]
    new = built.select(list(FINGERPRINT_SCHEMA)).cast(FINGERPRINT_SCHEMA)  # type: ignore[arg-type]
    merged = pl.concat([read_sources(store).join(new.select(key), on=key, how="anti"), new]).sort(key)
    store.write_parquet(SOURCES, merged)


def cold_day_rows(store: ColdStore) -> pl.DataFrame:
    """(venue, symbol, day, cold_rows) of every day (row group) of the 1m files in the manifest."""
    return (
        read_manifest(store)
        .filter((pl.col("dataset") == "bars_1m") & pl.col("days").is_not_null())
        .select("venue", "symbol", pl.col("days").alias("day"), pl.col("day_rows").alias("cold_rows"))
        .explode("day", "cold_rows")
    )


def read_state(store: ColdStore) -> dict[str, Any]:
    return json.loads(store.read_bytes(STATE)) if store.exists(STATE) else {}


def write_state(store: ColdStore, watermark: int, built_at: datetime) -> None:
    store.write_bytes(STATE, json.dumps({"watermark": watermark, "last_build": built_at.isoformat()}).encode())


def verify(store: ColdStore) -> list[dict[str, Any]]:
    """Every disagreement between the manifest and the files: missing, altered (sha256/rows), unlisted."""
    manifest = read_manifest(store)
    problems: list[dict[str, Any]] = []
    listed = set(manifest.get_column("path").to_list())
    for row in manifest.iter_rows(named=True):
        try:
            data = store.read_bytes(row["path"])
        except FileNotFoundError:
            problems.append({"path": row["path"], "problem": "missing"})
            continue
        if sha256_hex(data) != row["sha256"]:
            problems.append({"path": row["path"], "problem": "sha256 differs from the manifest"})
            continue
        rows = parquet_rows(data)
        if rows != row["rows"]:
            problems.append({"path": row["path"], "problem": f"{rows} rows, manifest says {row['rows']}"})
        elif row["day_rows"] is not None and row_group_rows(data) != list(row["day_rows"]):
            problems.append({"path": row["path"], "problem": "row groups differ from the manifest's days"})
    for relative in store.list("**/data.parquet"):
        if relative not in listed:
            problems.append({"path": relative, "problem": "not in the manifest"})
    return problems


def latest_features(store: ColdStore, only: set[tuple[str, str]] | None = None) -> pl.DataFrame:
    """The newest feature row of every symbol (or of the (venue, symbol) pairs in ``only``), reading only
    the last row group (its newest day) of each symbol's newest monthly file."""
    newest: dict[tuple[str, str], str] = {}
    for relative in store.list(glob_for("features_1m")):
        _, venue_part, symbol_part, month_part, _ = relative.split("/")
        key = (venue_part.removeprefix("venue="), symbol_part.removeprefix("symbol="))
        if only is not None and key not in only:
            continue
        if key not in newest or month_part > newest[key].split("/")[3]:
            newest[key] = relative
    frames = [
        store.read_last_row_group(relative)
        .sort("ts")
        .tail(1)
        .with_columns(pl.lit(venue).alias("venue"), pl.lit(symbol).alias("symbol"))
        for (venue, symbol), relative in sorted(newest.items())
    ]
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
