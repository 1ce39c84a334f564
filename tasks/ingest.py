"""Ingest tasks: plan the batches, then load each batch (parse -> contracts -> gate -> warm)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
from prefect import task

from core.batching import BatchSpec, plan_batches, unchanged
from core.parse import ReadOptions, parse_files
from core.run_summary import OUTCOME_SCHEMA
from core.settings import Settings
from storage.landing import list_files, read_file
from storage.warm import open_warehouse
from storage.warm.base import Warehouse
from storage.warm.ingest_ledger import settled_files, settled_versions, write_batch
from tasks.retry import task_options
from validation.batch import STATUS_FAILED, judge_batch
from validation.known_events import load_allowlist


@dataclass(frozen=True)
class IngestPlan:
    files_seen: int
    files_skipped: int
    batches: list[BatchSpec]


@task(name="plan_ingest", **task_options())
def plan_ingest(settings: Settings, paths: list[str], options: ReadOptions, force: bool = False) -> IngestPlan:
    """List the landing paths, drop files whose path/size/mtime match a settled manifest row, batch the rest.

    ``force`` (a quarantine replay) judges settled files again."""
    listing = list_files([Path(p) for p in paths])
    with open_warehouse(settings) as warehouse:
        known = unchanged(listing, settled_files(warehouse)) if not force else listing.clear()
    todo = listing.join(known.select("path"), on="path", how="anti")
    return IngestPlan(
        files_seen=listing.height,
        files_skipped=known.height,
        batches=plan_batches(
            todo, settings.ingest_batch_max_files, options.venue, options.symbol, settings.ingest_batch_max_bytes
        ),
    )


@dataclass(frozen=True)
class JudgedBatch:
    """A batch read, parsed and judged, as Arrow tables ready for the warm store.

    Built by :func:`judge_files` wherever the task runner puts it (a Dask worker process, a
    thread) and loaded by :func:`store_judged` where the warehouse allows; Arrow crosses the
    process boundary without a copy per column."""

    members: list[tuple[str, str]]  # (path, sha256) of every parsed file: the insert tokens' key
    bars: pa.Table
    quarantine: pa.Table
    anomalies: pa.Table
    manifest: pa.Table
    failed: list[dict[str, object]]  # outcome rows of files that could not even be read


def judge_files(
    settings: Settings,
    batch: BatchSpec,
    options: ReadOptions,
    run_id: str,
    settled: frozenset[tuple[str, str]],
    version: int,
) -> JudgedBatch:
    """Read, parse and judge one batch (no warehouse: the CPU part, safe on any worker).

    ``settled`` are the (path, sha256) versions already loaded; those files are left out."""
    failed: list[dict[str, object]] = []
    items = []
    for ref in batch.files:
        try:
            source, sha = read_file(ref.path)
        except OSError as exc:  # vanished or unreadable since listing: try again next run
            failed.append(_failed_outcome(ref.path, f"cannot read file: {exc}"))
            continue
        if (ref.path, sha) not in settled:
            items.append((ref, source, sha))
    parsed = parse_files(items, options)
    if not parsed:
        empty = pa.table({})
        return JudgedBatch([], empty, empty, empty, empty, failed)
    verdict = judge_batch(
        parsed,
        version=version,
        run_id=run_id,
        threshold=settings.file_error_ratio_threshold,
        now=datetime.now(UTC),
        allowlist=load_allowlist(settings.known_events_files),
    )
    manifest = verdict.manifest.with_columns(pl.lit(json.dumps(asdict(options), sort_keys=True)).alias("read_options"))
    return JudgedBatch(
        members=[(p.ref.path, p.sha256) for p in parsed],
        bars=verdict.bars.to_arrow(),
        quarantine=verdict.quarantine.to_arrow(),
        anomalies=verdict.anomalies.to_arrow(),
        manifest=manifest.to_arrow(),
        failed=failed,
    )


def store_judged(warehouse: Warehouse, judged: JudgedBatch, run_id: str, force: bool) -> list[dict[str, object]]:
    """Load a judged batch (data first, manifest last); returns one outcome row per file."""
    if not judged.members:
        return judged.failed
    manifest = pl.from_arrow(judged.manifest)
    assert isinstance(manifest, pl.DataFrame)
    write_batch(
        warehouse,
        judged.members,
        _frame(judged.bars),
        _frame(judged.quarantine),
        _frame(judged.anomalies),
        manifest,
        replay_of=run_id if force else None,
    )
    return manifest.select(list(OUTCOME_SCHEMA)).to_dicts() + judged.failed


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


@task(name="load_batch", **task_options())
def load_batch(
    settings: Settings, batch: BatchSpec, options: ReadOptions, run_id: str, force: bool = False
) -> list[dict[str, object]]:
    """Load one batch; returns one outcome row per file (``OUTCOME_SCHEMA``), unchanged files omitted.

    ``force`` (a quarantine replay) judges settled file versions again and replaces their earlier
    quarantine rows and anomalies; bars that load now replace nothing twice (same natural key)."""
    version = time.time_ns() // 1000
    with open_warehouse(settings) as warehouse:
        settled = _settled(warehouse, batch, force)
        judged = judge_files(settings, batch, options, run_id, settled, version)
        return store_judged(warehouse, judged, run_id, force)


@task(name="settled_in_batch", **task_options())
def settled_in_batch(settings: Settings, batch: BatchSpec, force: bool = False) -> frozenset[tuple[str, str]]:
    """The file versions of a batch that are already loaded (read where the warehouse allows)."""
    with open_warehouse(settings) as warehouse:
        return _settled(warehouse, batch, force)


@task(name="judge_batch_files", **task_options())
def judge_batch_files(
    settings: Settings,
    batch: BatchSpec,
    options: ReadOptions,
    run_id: str,
    settled: frozenset[tuple[str, str]],
) -> JudgedBatch:
    """The CPU part of ``load_batch`` as its own task, for a runner whose workers cannot open the warehouse."""
    return judge_files(settings, batch, options, run_id, settled, time.time_ns() // 1000)


@task(name="store_judged_batch", **task_options())
def store_judged_batch(
    settings: Settings, judged: JudgedBatch, run_id: str, force: bool = False
) -> list[dict[str, object]]:
    """The warehouse part of ``load_batch``: load what a worker judged."""
    with open_warehouse(settings) as warehouse:
        return store_judged(warehouse, judged, run_id, force)


def _settled(warehouse: Warehouse, batch: BatchSpec, force: bool) -> frozenset[tuple[str, str]]:
    return frozenset() if force else frozenset(settled_versions(warehouse, [f.path for f in batch.files]))


def _failed_outcome(path: str, reason: str) -> dict[str, object]:
    return {
        "path": path,
        "status": STATUS_FAILED,
        "rows_read": 0,
        "rows_loaded": 0,
        "rows_quarantined": 0,
        "rows_duplicate": 0,
        "reasons": json.dumps([{"reason": reason}]),
    }


def failed_outcomes(batch: BatchSpec, reason: str) -> list[dict[str, object]]:
    """Outcome rows for a batch whose task failed for good: every file failed, with the error."""
    return [_failed_outcome(ref.path, reason) for ref in batch.files]


def outcomes_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=OUTCOME_SCHEMA)
