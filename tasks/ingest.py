"""Ingest tasks: plan the batches, then load each batch (read -> parse -> contracts -> gate -> warm)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from prefect import task
from prefect.assets import materialize

from core.batching import BatchSpec, plan_batches, unchanged
from core.fingerprint import source_id
from core.formats import SourceFile
from core.parse import FileRef, ParsedFile, ReadOptions, parse_files
from core.run_summary import OUTCOME_SCHEMA
from core.settings import Settings
from core.versions import OUTCOME_UNCHANGED, duplicate_contents, older_versions, touched_versions
from storage.landing import FileTooLargeError, NotARegularFileError, inspect_entry, read_file, scan
from storage.warm import open_warehouse
from storage.warm.base import Warehouse
from storage.warm.ingest_ledger import (
    HOLDS_DATA,
    content_twins,
    record_skipped,
    settled_files,
    settled_rows,
    settled_versions,
    stored_copies,
    touch_manifest,
    write_batch,
)
from tasks.lineage import LANDING, warm
from tasks.retry import task_options
from tasks.trades import load_trade_files, split_trade_files
from validation.batch import STATUS_FAILED, STATUS_SKIPPED, BatchVerdict, judge_batch, with_store_overlaps
from validation.gate import Plausibility
from validation.known_events import load_allowlist


@dataclass(frozen=True)
class IngestPlan:
    files_seen: int
    files_skipped: int
    batches: list[BatchSpec]
    skipped: list[dict[str, object]]  # outcome rows of landing entries that are not regular files


@task(name="plan_ingest", **task_options())
def plan_ingest(
    settings: Settings, paths: list[str], options: ReadOptions, reprocess: bool = False, run_id: str = "local"
) -> IngestPlan:
    """List the landing paths, drop files whose path/size/mtime match a settled manifest row, batch the rest.

    Entries that are not regular files are recorded as ``skipped`` with their reason, never opened.
    ``reprocess`` judges settled files again."""
    listing, skipped = scan([Path(p) for p in paths])
    with open_warehouse(settings) as warehouse:
        known = unchanged(listing, settled_files(warehouse)) if not reprocess else listing.clear()
        record_skipped(warehouse, skipped, run_id, datetime.now(UTC))
    todo = listing.join(known.select("path"), on="path", how="anti")
    return IngestPlan(
        files_seen=listing.height + skipped.height,
        files_skipped=known.height,
        batches=plan_batches(
            todo, settings.ingest_batch_max_files, options.venue, options.symbol, settings.ingest_batch_max_bytes
        ),
        skipped=[_outcome(p, STATUS_SKIPPED, r) for p, r in skipped.iter_rows()],
    )


def _regular_files(refs: Iterable[FileRef], max_bytes: int) -> tuple[list[FileRef], list[dict[str, object]]]:
    """The batch's entries that are still regular files within the size bound (``stat`` only, nothing opened).

    Trade files are sniffed and streamed rather than read whole, so this is their landing check: an entry
    that became a symlink to a FIFO, a device or an oversized file since it was listed is skipped here,
    exactly as :func:`storage.landing.read_file` skips it for bar files."""
    kept: list[FileRef] = []
    outcomes: list[dict[str, object]] = []
    for ref in refs:
        info, reason = inspect_entry(Path(ref.path))
        if info is None:
            outcomes.append(_outcome(ref.path, STATUS_SKIPPED, reason or "skipped"))
        elif info.st_size > max_bytes:
            too_large = (
                f"file of {info.st_size:,} bytes is above MARKETOPS_INGEST_MAX_FILE_BYTES ({max_bytes:,}): not read"
            )
            outcomes.append(_outcome(ref.path, STATUS_SKIPPED, too_large))
        else:
            kept.append(ref)
    return kept, outcomes


def _read_batch(
    refs: Iterable[FileRef], max_bytes: int
) -> tuple[list[tuple[FileRef, SourceFile, str]], list[dict[str, object]]]:
    """Read every file of the batch (bounded, never blocking); entries that cannot be read become outcomes."""
    items: list[tuple[FileRef, SourceFile, str]] = []
    outcomes: list[dict[str, object]] = []
    for ref in refs:
        try:
            source, sha = read_file(ref.path, max_bytes)
        except (NotARegularFileError, FileTooLargeError) as exc:
            outcomes.append(_outcome(ref.path, STATUS_SKIPPED, str(exc)))
            continue
        except OSError as exc:  # vanished or unreadable since listing: try again next run
            outcomes.append(_outcome(ref.path, STATUS_FAILED, f"cannot read file: {exc}"))
            continue
        items.append((ref, source, sha))
    return items, outcomes


def _parse(
    warehouse: Warehouse, items: list[tuple[FileRef, SourceFile, str]], options: ReadOptions
) -> tuple[list[ParsedFile], set[int]]:
    """Parse the batch; copies of bytes already settled under another path are reported, not parsed."""
    twins = duplicate_contents(
        [(ref.path, sha) for ref, _, sha in items], content_twins(warehouse, sorted({sha for *_, sha in items}))
    )
    parsed = parse_files([item for item in items if item[0].path not in twins], options)
    copies = [
        ParsedFile(ref=ref, sha256=sha, source_id=source_id(ref.path, sha), reason=twins[ref.path])
        for ref, _, sha in items
        if ref.path in twins
    ]
    return parsed + copies, {c.source_id for c in copies}


def _load(
    warehouse: Warehouse,
    settings: Settings,
    items: list[tuple[FileRef, SourceFile, str]],
    previous: pl.DataFrame,
    options: ReadOptions,
    run_id: str,
    reprocess: bool,
) -> BatchVerdict | None:
    if not items:
        return None
    now = datetime.now(UTC)
    version = time.time_ns() // 1000  # newer loads win ReplacingMergeTree; also the caches' and hot tier's watermark
    parsed, duplicates = _parse(warehouse, items, options)
    ids = [p.source_id for p in parsed]
    superseded = older_versions(previous, [(p.ref.path, p.sha256) for p in parsed], HOLDS_DATA)
    allowlist = load_allowlist(settings.known_events_files)
    verdict = judge_batch(
        parsed,
        version=version,
        run_id=run_id,
        threshold=settings.file_error_ratio_threshold,
        now=now,
        allowlist=allowlist,
        plausibility=Plausibility.from_settings(settings, now),
        duplicates=duplicates,
    )
    existing, files = stored_copies(warehouse, verdict.bars, ids + superseded["source_id"].to_list())
    verdict = with_store_overlaps(verdict, existing, files, allowlist)
    manifest = verdict.manifest.with_columns(pl.lit(json.dumps(asdict(options), sort_keys=True)).alias("read_options"))
    write_batch(
        warehouse,
        [(p.ref.path, p.sha256) for p in parsed],
        verdict.bars,
        verdict.quarantine,
        verdict.anomalies,
        manifest,
        replay_of=run_id if reprocess else None,
        superseded=superseded,
        version=version,
    )
    return verdict


@materialize(
    warm("bars_1m"),
    warm("quarantine_bars"),
    warm("ingest_files"),
    asset_deps=[LANDING],
    name="load_batch",
    **task_options(),
)
def load_batch(
    settings: Settings, batch: BatchSpec, options: ReadOptions, run_id: str, reprocess: bool = False
) -> list[dict[str, object]]:
    """Load one batch; returns one outcome row per file (``OUTCOME_SCHEMA``).

    Nothing a file contains fails the batch: only storage faults raise (and are retried). A file read
    again unchanged under a new mtime gets its manifest row updated and is not judged again.
    ``reprocess`` judges settled file versions again and replaces what their earlier load wrote."""
    safe, outcomes = _regular_files(batch.files, settings.ingest_max_file_bytes)
    trade_files, bar_refs = split_trade_files(safe, options)  # trades/quotes: their own path (tasks/trades.py)
    items, read_failures = _read_batch(bar_refs, settings.ingest_max_file_bytes)
    outcomes += read_failures
    with open_warehouse(settings) as warehouse:
        if trade_files:
            trade_paths = [ref.path for ref, *_ in trade_files]
            traded = load_trade_files(
                warehouse,
                trade_files,
                options,
                run_id,
                settings.file_error_ratio_threshold,
                time.time_ns() // 1000,
                datetime.now(UTC),
                set() if reprocess else settled_versions(warehouse, trade_paths),
                replay_of=run_id if reprocess else None,
            )
            outcomes += traded.select(list(OUTCOME_SCHEMA)).to_dicts()
        previous = settled_rows(warehouse, [ref.path for ref, _, _ in items])
        if not reprocess:
            touched = touched_versions([(ref, sha) for ref, _, sha in items], previous)
            touch_manifest(warehouse, touched)
            outcomes += [_outcome(p, OUTCOME_UNCHANGED, "touched, content unchanged") for p in touched["path"]]
            settled = set(previous.select("path", "sha256").iter_rows()) if previous.height else set()
            items = [item for item in items if (item[0].path, item[2]) not in settled]
        verdict = _load(warehouse, settings, items, previous, options, run_id, reprocess)
    if verdict is None:
        return outcomes
    return verdict.manifest.select(list(OUTCOME_SCHEMA)).to_dicts() + outcomes


def _outcome(path: str, status: str, reason: str) -> dict[str, object]:
    return {
        "path": path,
        "status": status,
        "rows_read": 0,
        "rows_loaded": 0,
        "rows_quarantined": 0,
        "rows_duplicate": 0,
        "reasons": json.dumps([{"reason": reason}]),
    }


def failed_outcomes(batch: BatchSpec, reason: str) -> list[dict[str, object]]:
    """Outcome rows for a batch whose task failed for good: every file failed, with the error."""
    return [_outcome(ref.path, STATUS_FAILED, reason) for ref in batch.files]


def outcomes_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=OUTCOME_SCHEMA)
