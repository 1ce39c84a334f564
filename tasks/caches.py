"""Cache tasks: plan which symbol-days changed; rebuild one symbol's affected cold files per task."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from prefect import task
from prefect.assets import materialize

from core.cache_plan import (
    FINGERPRINT_SCHEMA,
    MONTHS_PER_BATCH,
    Affected,
    affected,
    build_outputs,
    changed_symbol_days,
    day_rows,
    plan_batches,
    repair_days,
)
from core.cold_layout import DAY_GROUPED, file_path
from core.features import LOOKBACK_BARS
from core.sessions import session_of
from core.settings import Settings
from storage.cold.base import ColdStore, parquet_bytes, parquet_bytes_by_day, sha256_hex
from storage.cold.catalog import refresh_catalog
from storage.cold.factory import cold_store
from storage.cold.manifest import (
    drop_from_manifest,
    legacy_files,
    manifest_frame,
    merge_manifest,
    merge_sources,
    read_sources,
    verify,
    write_state,
)
from storage.warm import open_warehouse
from storage.warm.base import Warehouse
from storage.warm.cache_source import (
    all_symbol_days,
    bars_between,
    day_fingerprints,
    lookback_start,
    max_version,
    symbol_days,
)
from tasks.lineage import cold, warm
from tasks.retry import task_options
from validation.contracts_tiers import CacheInputBars, check_outputs
from validation.fast_contracts import enforce_fast

_OPTIONS = task_options()

NO_CATALOG_NOTE = (
    "DuckDB catalog not built: the cold tier is on object storage ({location}) and DuckDB reads s3:// only "
    "through its httpfs extension, which is not installed and cannot be downloaded offline (no PyPI build "
    "for duckdb 2.0.0); read the files with polars/pyarrow, or install httpfs and query read_parquet('s3://...')"
)


@task(name="plan_caches", **_OPTIONS)
def plan_caches(settings: Settings, full: bool, since: date | None) -> dict[str, Any]:
    """Symbol-days to rebuild: every day whose warm content differs from what its cold files were built from,
    plus the days behind every file the manifest check flags (missing, altered, unlisted). ``full``/``since``:
    every day (from ``since``)."""
    store = cold_store(settings)
    store.sweep_temporaries()
    legacy = legacy_files(store)  # the first layout's daily files: rebuild everything, then delete them
    full = full or bool(legacy)
    since_ts = datetime(since.year, since.month, since.day, tzinfo=UTC) if since and not legacy else None
    with open_warehouse(settings) as warehouse:
        watermark = max_version(warehouse)  # informational only: change detection is by content
        current = day_fingerprints(warehouse, since_ts)
        existing = current.select("venue", "symbol", "day") if since_ts is None else all_symbol_days(warehouse)
    stale: list[str] = list(legacy)
    if full or since_ts:
        changed = current.select("venue", "symbol", "day")
    else:
        changed = changed_symbol_days(current, read_sources(store))
        repair, stale = repair_days([p["path"] for p in verify(store)], current)
        changed = pl.concat([changed, repair]).unique().sort("venue", "symbol", "day")
    sources = current.join(changed, on=["venue", "symbol", "day"], how="semi").sort("venue", "symbol", "day")
    batches = plan_batches(changed, existing, MONTHS_PER_BATCH)
    for batch in batches:
        mine = pl.DataFrame({"day": batch["days"]}, schema={"day": pl.Date})
        batch["sources"] = (
            sources.filter((pl.col("venue") == batch["venue"]) & (pl.col("symbol") == batch["symbol"]))
            .join(mine, on="day", how="semi")
            .to_dicts()
        )
    # ``sources``: every batch's fingerprints in one frame (a DataFrame is one opaque parameter to Prefect, where
    # a list of dicts is walked item by item each time it is passed to a task)
    return {"watermark": watermark, "batches": batches, "stale": stale, "legacy": len(legacy), "sources": sources}


@dataclass(frozen=True)
class SymbolBars:
    """One symbol's bars for a rebuild, read where the warehouse opens (a polars frame: in one process it goes
    from the read to the writes as it is; a Dask worker receives it pickled, as Arrow IPC)."""

    venue: str
    symbol: str
    what: Affected
    bars: pl.DataFrame


def read_symbol_bars(
    warehouse: Warehouse,
    venue: str,
    symbol: str,
    days: list[date],
    months: list[date] | None = None,
    history: bool = True,
) -> SymbolBars:
    """Which files the changed days touch (``months``: as planned, else derived from the days) and every bar
    they need (with the features' lookback before the first month; ``history=False``: the plan found no day
    before it, so the lookback query is not run)."""
    what = Affected(tuple(days), tuple(months), ()) if months else affected(days, symbol_days(warehouse, venue, symbol))
    start, end = what.fetch_range()
    first = what.months[0]
    before = datetime(first.year, first.month, 1, tzinfo=UTC)
    back = lookback_start(warehouse, venue, symbol, before, LOOKBACK_BARS) if history else None
    bars = enforce_fast(
        CacheInputBars, bars_between(warehouse, venue, symbol, min(start, back) if back else start, end)
    )
    return SymbolBars(venue, symbol, what, bars)


def write_symbol_files(
    settings: Settings, store: ColdStore, source: SymbolBars, watermark: int, now: datetime
) -> list[dict[str, Any]]:
    """Resample, compute features and write the Parquet files (no warehouse: safe on any worker)."""
    outputs = build_outputs(source.bars, source.what, session_of(source.venue, settings.venue_sessions), now)
    check_outputs(outputs)
    rows = []
    built_at = datetime.now(UTC)
    for output in outputs:
        relative = file_path(output.dataset, source.venue, source.symbol, output.period)
        days = day_rows(output.frame) if output.dataset in DAY_GROUPED else []
        data = parquet_bytes_by_day(output.frame, days) if days else parquet_bytes(output.frame)
        store.write_bytes(relative, data, durable=False)  # synced once before the manifest
        rows.append(
            {
                "path": relative,
                "dataset": output.dataset,
                "venue": source.venue,
                "symbol": source.symbol,
                "period": output.period.isoformat(),
                "rows": output.frame.height,
                "sha256": sha256_hex(data),
                "source_version": watermark,
                "built_at": built_at,
                "days": [day for day, _ in days] or None,
                "day_rows": [n for _, n in days] or None,
            }
        )
    return rows


@materialize(cold("datasets"), asset_deps=[warm("bars_1m")], name="build_symbol_caches", **_OPTIONS)
def build_symbol_caches(
    settings: Settings,
    venue: str,
    symbol: str,
    days: list[date],
    watermark: int,
    now: datetime,
    months: list[date] | None = None,
) -> list[dict[str, Any]]:
    """Rewrite the cold files (symbol-months) one symbol's changed days touch; returns their manifest rows."""
    with open_warehouse(settings) as warehouse:
        source = read_symbol_bars(warehouse, venue, symbol, days, months)
    return write_symbol_files(settings, cold_store(settings), source, watermark, now)


@materialize(cold("datasets"), asset_deps=[warm("bars_1m")], name="build_caches", **_OPTIONS)
def build_caches(settings: Settings, batches: list[dict[str, Any]], watermark: int, now: datetime) -> pl.DataFrame:
    """``build_symbol_caches`` for several planned batches (``venue``, ``symbol``, ``days``, ``months``), one
    after another under one warehouse client: memory stays one batch's, the task and the client are paid once.
    Returns the manifest rows of every file written, as one frame."""
    store = cold_store(settings)
    rows: list[dict[str, Any]] = []
    with open_warehouse(settings) as warehouse:
        for batch in batches:
            source = read_symbol_bars(
                warehouse, batch["venue"], batch["symbol"], batch["days"], batch["months"], batch.get("history", True)
            )
            rows += write_symbol_files(settings, store, source, watermark, now)
            del source  # the next batch's bars replace these, not join them
    return manifest_frame(rows)


@task(name="read_cache_source", **_OPTIONS)
def read_cache_source(
    settings: Settings, venue: str, symbol: str, days: list[date], months: list[date] | None = None
) -> SymbolBars:
    """The warehouse read of ``build_symbol_caches`` alone, for a runner whose workers cannot open it."""
    with open_warehouse(settings) as warehouse:
        return read_symbol_bars(warehouse, venue, symbol, days, months)


@materialize(cold("datasets"), asset_deps=[warm("bars_1m")], name="write_symbol_caches", **_OPTIONS)
def write_symbol_caches(settings: Settings, source: SymbolBars, watermark: int, now: datetime) -> pl.DataFrame:
    """The CPU and Parquet part of ``build_symbol_caches`` alone (runs on a worker); the manifest rows as a frame,
    like :func:`build_caches`."""
    return manifest_frame(write_symbol_files(settings, cold_store(settings), source, watermark, now))


@materialize(cold("catalog"), asset_deps=[cold("datasets")], name="publish_caches", **_OPTIONS)
def publish_caches(
    settings: Settings,
    rows: list[dict[str, Any]] | list[pl.DataFrame],
    watermark: int,
    built_at: datetime,
    sources: list[dict[str, Any]] | pl.DataFrame | None = None,
    stale: list[str] | None = None,
) -> dict[str, Any]:
    """Manifest, then the fingerprints the days were built from, then the DuckDB catalog: each only after what
    it describes. Stale files (no warm day behind them) are removed first.

    ``rows``: manifest rows as dicts or as frames (what :func:`build_caches` returns); ``sources``: dicts or one
    frame of (venue, symbol, day, rows, hash)."""
    store = cold_store(settings)
    for relative in stale or []:
        store.delete(relative)
    store.sync()  # every data file on disk before the manifest that vouches for it
    if stale:
        drop_from_manifest(store, stale)
    new = manifest_frame(rows)
    manifest = merge_manifest(store, new) if new.height else None
    built = sources if isinstance(sources, pl.DataFrame) else pl.DataFrame(sources or [], schema=FINGERPRINT_SCHEMA)
    if built.height:
        merge_sources(store, built)
    write_state(store, watermark, built_at)
    catalog = store.catalog_root
    views = refresh_catalog(catalog) if catalog is not None else []
    note = None if catalog is not None else NO_CATALOG_NOTE.format(location=store.location)
    return {"files": manifest.height if manifest is not None else None, "views": views, "catalog_note": note}
