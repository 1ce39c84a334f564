"""Ingest tasks: plan the batches, then load each batch (parse -> contracts -> gate -> warm)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from prefect import task
from prefect.assets import materialize

from core.batching import BatchSpec, plan_batches, unchanged
from core.parse import ReadOptions, parse_files
from core.run_summary import OUTCOME_SCHEMA
from core.settings import Settings
from storage.landing import list_files, read_file
from storage.warm import open_warehouse
from storage.warm.ingest_ledger import settled_files, settled_versions, write_batch
from tasks.lineage import LANDING, warm
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


@materialize(
    warm("bars_1m"),
    warm("quarantine_bars"),
    warm("ingest_files"),
    asset_deps=[LANDING],
    name="load_batch",
    **task_options(),
)
def load_batch(
    settings: Settings, batch: BatchSpec, options: ReadOptions, run_id: str, force: bool = False
) -> list[dict[str, object]]:
    """Load one batch; returns one outcome row per file (``OUTCOME_SCHEMA``), unchanged files omitted.

    ``force`` (a quarantine replay) judges settled file versions again and replaces their earlier
    quarantine rows and anomalies; bars that load now replace nothing twice (same natural key)."""
    version = time.time_ns() // 1000
    failed: list[dict[str, object]] = []
    with open_warehouse(settings) as warehouse:
        settled = settled_versions(warehouse, [f.path for f in batch.files]) if not force else set()
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
            return failed
        verdict = judge_batch(
            parsed,
            version=version,
            run_id=run_id,
            threshold=settings.file_error_ratio_threshold,
            now=datetime.now(UTC),
            allowlist=load_allowlist(settings.known_events_files),
        )
        manifest = verdict.manifest.with_columns(
            pl.lit(json.dumps(asdict(options), sort_keys=True)).alias("read_options")
        )
        write_batch(
            warehouse,
            [(p.ref.path, p.sha256) for p in parsed],
            verdict.bars,
            verdict.quarantine,
            verdict.anomalies,
            manifest,
            replay_of=run_id if force else None,
        )
    return verdict.manifest.select(list(OUTCOME_SCHEMA)).to_dicts() + failed


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
