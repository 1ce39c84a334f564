"""Ingest tasks: plan the batches, then load each batch (read -> parse -> contracts -> gate -> warm)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from prefect import task
from prefect.assets import materialize

from core.batching import BatchSpec, plan_batches, unchanged
from core.fingerprint import source_id
from core.formats import SourceFile
from core.lineage import WARM_LEDGER
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
from tasks import ingest_lanes
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


def _twins(warehouse: Warehouse, versions: list[tuple[FileRef, str]]) -> dict[str, str]:
    """path -> reason, for files whose bytes are already settled under another path."""
    pairs = [(ref.path, sha) for ref, sha in versions]
    return duplicate_contents(pairs, content_twins(warehouse, sorted({sha for _, sha in pairs})))


def _as_copies(
    parsed: list[ParsedFile], versions: list[tuple[FileRef, str]], twins: dict[str, str]
) -> tuple[list[ParsedFile], set[int]]:
    """The parsed files minus the twins, plus one unparsed copy row per twin (its reason says whose copy)."""
    copies = [
        ParsedFile(ref=ref, sha256=sha, source_id=source_id(ref.path, sha), reason=twins[ref.path])
        for ref, sha in versions
        if ref.path in twins
    ]
    return [p for p in parsed if p.ref.path not in twins] + copies, {c.source_id for c in copies}


def _load_trades(
    warehouse: Warehouse,
    settings: Settings,
    trade_files: list[Any],
    options: ReadOptions,
    run_id: str,
    reprocess: bool,
) -> list[dict[str, object]]:
    """Load the batch's trade/quote files (their own streaming path, ``tasks/trades.py``); one outcome per file."""
    if not trade_files:
        return []
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
    return traded.select(list(OUTCOME_SCHEMA)).to_dicts()


# What a batch's load writes (its lineage); the pipeline's two lanes are ``tasks.ingest_lanes``.
LEDGER_ASSETS = [warm(table) for table in WARM_LEDGER]


@materialize(
    *LEDGER_ASSETS,
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
    ``reprocess`` judges settled file versions again and replaces what their earlier load wrote.

    The same steps as the Dask split (:func:`parse_batch_files` on a worker, :func:`store_parsed` in the flow),
    in one task: read the batch's settled rows, parse and judge (in the prepare lane), then write (in the store
    lane) — so one batch's write overlaps the next batch's parse and judgement."""
    with open_warehouse(settings) as warehouse:
        with ingest_lanes.PREPARE:
            previous = settled_rows(warehouse, [ref.path for ref in batch.files])
            parsed = parse_batch_files(settings, batch, options, settled_versions_of(previous, reprocess))
            judged = judge_parsed(warehouse, settings, parsed, previous, options, run_id, reprocess)
        with ingest_lanes.STORE:
            return write_judged(warehouse, settings, judged, previous, options, run_id, reprocess)


@dataclass(frozen=True)
class ParsedBatch:
    """A batch read and parsed (on a worker, or in the task itself): no warehouse was needed.

    ``read`` lists every file read with its sha256 (the flow touches the unchanged ones); ``parsed`` holds the
    files whose version is not settled yet (their frames cross the process boundary as Arrow)."""

    read: list[tuple[FileRef, str]]
    parsed: list[ParsedFile]
    outcomes: list[dict[str, object]]  # entries that could not be read (skipped or failed)
    # Trade/quote files: streamed and aggregated in the flow process (their reader holds no whole file in memory).
    trade_refs: list[FileRef] = field(default_factory=list)


def parse_batch_files(
    settings: Settings, batch: BatchSpec, options: ReadOptions, settled: frozenset[tuple[str, str]]
) -> ParsedBatch:
    """Read and parse one batch (the CPU part of ``load_batch``, no warehouse: safe on any worker).

    ``settled`` are the (path, sha256) versions already loaded; those files are read (to hash them) but not parsed.
    Copies of already-settled bytes under another path are parsed here and replaced by copy rows when judged."""
    safe, outcomes = _regular_files(batch.files, settings.ingest_max_file_bytes)
    trade_files, bar_refs = split_trade_files(safe, options)  # trades/quotes: their own path (tasks/trades.py)
    items, read_failures = _read_batch(bar_refs, settings.ingest_max_file_bytes)
    outcomes += read_failures
    todo = [item for item in items if (item[0].path, item[2]) not in settled]
    trade_refs = [ref for ref, *_ in trade_files]
    return ParsedBatch([(ref, sha) for ref, _, sha in items], parse_files(todo, options), outcomes, trade_refs)


@dataclass(frozen=True)
class JudgedBatch:
    """A parsed batch judged against the ledger as read before its write (reads only; nothing written yet)."""

    parsed: ParsedBatch
    touched: pl.DataFrame  # manifest rows of files read again unchanged under a new mtime
    versions: list[tuple[FileRef, str]]  # the file versions to judge (not settled, or all when reprocessing)
    twins: dict[str, str]  # path -> reason, copies of bytes settled under another path (as seen when judged)
    verdict: BatchVerdict | None
    members: list[ParsedFile]


def judge_parsed(
    warehouse: Warehouse,
    settings: Settings,
    batch: ParsedBatch,
    previous: pl.DataFrame,
    options: ReadOptions,
    run_id: str,
    reprocess: bool,
) -> JudgedBatch:
    """Everything of a batch's load that only reads the warehouse: unchanged files, copies, the verdict."""
    read = batch.read
    touched = previous.clear()
    if not reprocess:
        touched = touched_versions(read, previous)
        settled = set(previous.select("path", "sha256").iter_rows()) if previous.height else set()
        read = [(ref, sha) for ref, sha in read if (ref.path, sha) not in settled]
    if not read:
        return JudgedBatch(batch, touched, read, {}, None, [])
    twins = _twins(warehouse, read)
    verdict, members = _judge(settings, batch, read, twins, previous, run_id)
    return JudgedBatch(batch, touched, read, twins, verdict, members)


def _judge(
    settings: Settings,
    batch: ParsedBatch,
    read: list[tuple[FileRef, str]],
    twins: dict[str, str],
    previous: pl.DataFrame,
    run_id: str,
) -> tuple[BatchVerdict, list[ParsedFile]]:
    wanted = {(ref.path, sha) for ref, sha in read}
    members, duplicates = _as_copies([p for p in batch.parsed if (p.ref.path, p.sha256) in wanted], read, twins)
    now = datetime.now(UTC)
    verdict = judge_batch(
        members,
        version=0,  # stamped when the batch writes (:func:`write_judged`): versions rise in write order
        run_id=run_id,
        threshold=settings.file_error_ratio_threshold,
        now=now,
        allowlist=load_allowlist(settings.known_events_files),
        plausibility=Plausibility.from_settings(settings, now),
        duplicates=duplicates,
    )
    return verdict, members


def write_judged(
    warehouse: Warehouse,
    settings: Settings,
    judged: JudgedBatch,
    previous: pl.DataFrame,
    options: ReadOptions,
    run_id: str,
    reprocess: bool,
) -> list[dict[str, object]]:
    """Every write of a batch's load (call it holding :data:`_STORE_LANE`): trades, touched rows, then the
    bars against what the store holds now, data first and manifest last (a file is settled only once its
    rows are stored). A copy settled by another batch since this one was judged sends it back to be judged."""
    outcomes = list(judged.parsed.outcomes)
    if judged.parsed.trade_refs:
        trade_files, _ = split_trade_files(judged.parsed.trade_refs, options)
        outcomes += _load_trades(warehouse, settings, trade_files, options, run_id, reprocess)
    touch_manifest(warehouse, judged.touched)
    outcomes += [_outcome(p, OUTCOME_UNCHANGED, "touched, content unchanged") for p in judged.touched["path"]]
    if judged.verdict is None:
        return outcomes
    verdict, members = judged.verdict, judged.members
    twins = _twins(warehouse, judged.versions)
    if twins != judged.twins:  # rare: a batch written meanwhile settled the same bytes under another path
        verdict, members = _judge(settings, judged.parsed, judged.versions, twins, previous, run_id)
    version = time.time_ns() // 1000  # newer loads win ReplacingMergeTree; also the caches' and hot tier's watermark
    stamp = pl.lit(version, pl.UInt64).alias("version")
    verdict = BatchVerdict(
        verdict.bars.with_columns(stamp), verdict.quarantine.with_columns(stamp), verdict.anomalies, verdict.manifest
    )
    ids = [p.source_id for p in members]
    superseded = older_versions(previous, [(p.ref.path, p.sha256) for p in members], HOLDS_DATA)
    existing, files = stored_copies(warehouse, verdict.bars, ids + superseded["source_id"].to_list())
    verdict = with_store_overlaps(verdict, existing, files, load_allowlist(settings.known_events_files))
    manifest = verdict.manifest.with_columns(pl.lit(json.dumps(asdict(options), sort_keys=True)).alias("read_options"))
    write_batch(
        warehouse,
        [(p.ref.path, p.sha256) for p in members],
        verdict.bars,
        verdict.quarantine,
        verdict.anomalies,
        manifest,
        replay_of=run_id if reprocess else None,
        superseded=superseded,
        version=version,
    )
    return verdict.manifest.select(list(OUTCOME_SCHEMA)).to_dicts() + outcomes


def store_parsed(
    warehouse: Warehouse,
    settings: Settings,
    batch: ParsedBatch,
    previous: pl.DataFrame,
    options: ReadOptions,
    run_id: str,
    reprocess: bool,
) -> list[dict[str, object]]:
    """The warehouse part of a batch's load: judge (reads only, outside the lane), then write (in the lane)."""
    judged = judge_parsed(warehouse, settings, batch, previous, options, run_id, reprocess)
    with ingest_lanes.STORE:
        return write_judged(warehouse, settings, judged, previous, options, run_id, reprocess)


@task(name="settled_in_batch", **task_options())
def settled_in_batch(settings: Settings, batch: BatchSpec) -> pl.DataFrame:
    """The settled manifest rows of a batch's paths (read where the warehouse opens)."""
    with open_warehouse(settings) as warehouse:
        return settled_rows(warehouse, [ref.path for ref in batch.files])


def settled_versions_of(previous: pl.DataFrame, reprocess: bool) -> frozenset[tuple[str, str]]:
    """The (path, sha256) versions a worker need not parse (none when reprocessing)."""
    if reprocess or not previous.height:
        return frozenset()
    return frozenset(previous.select("path", "sha256").iter_rows())


@task(name="parse_batch", **task_options())
def parse_batch(
    settings: Settings, batch: BatchSpec, options: ReadOptions, settled: frozenset[tuple[str, str]]
) -> ParsedBatch:
    """The CPU part of ``load_batch`` as its own task, for a runner whose workers cannot open the warehouse."""
    return parse_batch_files(settings, batch, options, settled)


@materialize(
    *LEDGER_ASSETS,
    asset_deps=[LANDING],
    name="store_parsed_batch",
    **task_options(),
)
def store_parsed_batch(
    settings: Settings,
    parsed: ParsedBatch,
    previous: pl.DataFrame,
    options: ReadOptions,
    run_id: str,
    reprocess: bool = False,
) -> list[dict[str, object]]:
    """The warehouse part of ``load_batch``: judge and load what a worker parsed."""
    with open_warehouse(settings) as warehouse:
        return store_parsed(warehouse, settings, parsed, previous, options, run_id, reprocess)


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
