"""ingest: discover new or changed raw files, load them batch by batch, report what happened."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run

from core import progress
from core.allocators import release_memory_promptly
from core.batching import BatchSpec
from core.errors import MarketopsError
from core.lineage import landing
from core.parse import checked_options
from core.run_summary import IngestSummary, summarize
from core.settings import load_settings
from flows import events
from flows.bounded import run_bounded
from flows.hooks import RUN_HOOKS, run_link
from flows.runners import SettingsTaskRunner, outcome, warehouse_in_flow
from tasks.alerts import check_freshness
from tasks.ingest import (
    failed_outcomes,
    load_batch,
    outcomes_frame,
    parse_batch,
    plan_ingest,
    settled_in_batch,
    settled_versions_of,
    store_parsed_batch,
)
from tasks.lineage import bind_lineage
from tasks.retry import with_retry_policy
from tasks.runs import record_run
from tasks.setup import engine_kept, ensure_schema
from tasks.warmup import refresh_hot_after_ingest


class IngestFailed(MarketopsError):
    """Some files could not be loaded (not quarantined: failed) and will be retried next run."""


def record_crash(flow: Any, flow_run: Any, state: Any) -> None:
    """On-crashed hook (SIGTERM, SIGINT, a killed worker): the run's record says ``crashed``, not ``running``.

    Its files stay unsettled or settled exactly as far as their manifest rows got, so the next run
    finishes the work; the warehouse lock is the process's and goes with it."""
    settings = load_settings()
    started = flow_run.start_time or datetime.now(UTC)
    message = (state.message or state.type.value).strip().splitlines()
    record_run.fn(
        settings,
        str(flow_run.id),
        "ingest",
        "crashed",
        started,
        datetime.now(UTC),
        dict(flow_run.parameters or {}),
        {"error": message[0][:500] if message else "crashed"},
    )


@flow(
    name="ingest",
    task_runner=SettingsTaskRunner(max_threads=8),
    **{**RUN_HOOKS, "on_crashed": [record_crash, *RUN_HOOKS["on_crashed"]]},
)
def ingest(
    paths: list[str] | None = None,
    format: str | None = None,
    venue: str | None = None,
    symbol: str | None = None,
    timezone: str | None = None,
    reprocess: bool = False,
    date_order: str | None = None,
) -> dict[str, Any]:
    """Load new/changed raw 1m files under ``paths`` into the warm tier
    (default: MARKETOPS_LANDING_PATHS, else $MARKETOPS_HOME/landing).

    ``reprocess``: judge already-settled files again (new options, a reader fix, an allowlist change) and
    replace what their earlier load wrote; nothing loads twice."""
    logger = get_run_logger()
    settings = load_settings()
    started = datetime.now(UTC)
    run_id = str(flow_run.id or "local")
    release_memory_promptly()  # peak RSS flat in the input size: freed batches go back to the OS (core.allocators)
    if not paths:
        settings.default_landing_dir.mkdir(
            parents=True, exist_ok=True
        )  # an empty default landing is simply nothing to do
    scan = paths or [str(p) for p in settings.landing_dirs]
    # Checked before any file is touched: a bad option is a configuration error, not 1,000 quarantined files.
    options = checked_options(
        format, venue, symbol, timezone or settings.generic_timezone, date_order, settings.generic_columns
    )

    # One embedded engine start per run instead of one per task (each task still opens its own adapter).
    with engine_kept():
        with_retry_policy(ensure_schema, settings)(settings)
        parameters = {"paths": scan, "format": format, "venue": venue, "symbol": symbol, "reprocess": reprocess}
        with_retry_policy(record_run, settings)(settings, run_id, "ingest", "running", started, started, parameters, {})
        plan = with_retry_policy(plan_ingest, settings)(settings, scan, options, reprocess, run_id)
        logger.info(
            "%d files seen, %d unchanged, %d batches to load", plan.files_seen, plan.files_skipped, len(plan.batches)
        )

        load_task = bind_lineage(with_retry_policy(load_batch, settings), settings, sources=landing(scan))
        rows: list[dict[str, object]] = list(plan.skipped)
        for skipped in plan.skipped:
            logger.warning("skipped %s: %s", skipped["path"], skipped["reasons"])
        in_flow = warehouse_in_flow(settings)  # workers read and parse, this process judges and loads (chDB on Dask)
        parse, settled = with_retry_policy(parse_batch, settings), with_retry_policy(settled_in_batch, settings)
        store = bind_lineage(with_retry_policy(store_parsed_batch, settings), settings, sources=landing(scan))
        previous: dict[str, Any] = {}  # batch key -> its settled manifest rows, read before the workers parse

        def submit(batch: BatchSpec) -> Any:
            if not in_flow:
                return load_task.submit(settings, batch, options, run_id, reprocess)
            known = settled(settings, batch, return_state=True)
            if known.is_failed():  # a failed state answers .result() like a failed future: the batch fails, not the run
                return known
            previous[batch.key] = known.result()
            return parse.submit(settings, batch, options, settled_versions_of(previous[batch.key], reprocess))

        shown = progress.current()  # a bar when a person started this run in a terminal; nothing on a worker
        shown.start("ingest", sum(len(b.files) for b in plan.batches), "files")
        for batch, result, done in run_bounded(plan.batches, submit, settings.ingest_workers):  # in engine_kept
            if in_flow and not isinstance(result, BaseException):
                result = outcome(
                    store(settings, result, previous.pop(batch.key), options, run_id, reprocess, return_state=True)
                )
            if isinstance(result, BaseException):  # failed for good after retries: every file of it failed
                logger.error("batch %s failed: %s", batch.key, result)
                rows.extend(failed_outcomes(batch, f"{type(result).__name__}: {result}"))
            else:
                rows.extend(result)
            shown.advance(len(batch.files), 0 if isinstance(result, BaseException) else _rows_read(result))
            logger.info("[%d/%d] batch %s done (%d files)", done, len(plan.batches), batch.key, len(batch.files))
        shown.finish()

        outcomes = outcomes_frame(rows)
        summary = summarize(outcomes, plan.files_seen, plan.files_skipped)
        logger.info(summary.headline())
        for line in summary.warnings():
            logger.warning(line)
        _publish(summary, outcomes)
        if summary.rows_loaded:  # the hot tier follows: the touched symbols' keys, in the live epoch
            try:
                hot = with_retry_policy(refresh_hot_after_ingest, settings)(settings, run_id)
                logger.info("hot tier: %s (%d symbols, %d keys)", hot["status"], hot["symbols"], hot["keys"])
            except Exception as exc:  # the bars are loaded; warmup-check finds the drift and repairs it
                logger.error("hot tier not updated (warmup-check will repair it): %s", exc)
        stale = with_retry_policy(check_freshness, settings)(
            settings, "ingest", run_link(run_id) if flow_run.id else None
        )
        if stale:
            logger.warning("stale symbols: %s", ", ".join(stale))
        with_retry_policy(record_run, settings)(
            settings,
            run_id,
            "ingest",
            "completed" if summary.ok else "failed",
            started,
            datetime.now(UTC),
            parameters,
            summary.as_dict(),
        )
        events.ingest_loaded(settings, run_id)  # what it loaded, for the triggers (validate)
        if not summary.ok:
            raise IngestFailed(f"{summary.files_failed} files failed to load: {summary.headline()}")
        return {**summary.as_dict(), "problems": _problems(outcomes)}


def _rows_read(batch_outcomes: list[dict[str, Any]]) -> int:
    return sum(int(r.get("rows_read") or 0) for r in batch_outcomes)


def _problems(outcomes: pl.DataFrame, limit: int = 50) -> list[dict[str, object]]:
    """The files that did not load whole, with their reasons (what a replay or a person acts on)."""
    return (
        outcomes.filter(~pl.col("status").is_in(["loaded", "unchanged"]))
        .select("path", "status", "rows_loaded", "reasons")
        .head(limit)
        .to_dicts()
    )


def _publish(summary: IngestSummary, outcomes: pl.DataFrame) -> None:
    create_table_artifact(key="ingest-summary", table=[summary.as_dict()], description=summary.headline())
    problems = (
        outcomes.filter(pl.col("status").is_in(["quarantined", "partial", "failed", "skipped", "duplicate"]))
        .sort("rows_quarantined", descending=True)
        .head(100)
    )
    lines = [f"# Ingest\n\n{summary.headline()}\n"]
    if problems.height:
        lines.append("| file | status | rows quarantined | reasons |\n|---|---|---|---|")
        lines += [
            f"| `{r['path'].rsplit('/', 1)[-1]}` | {r['status']} | {r['rows_quarantined']} | {r['reasons'][:200]} |"
            for r in problems.iter_rows(named=True)
        ]
    create_markdown_artifact(
        key="ingest-report", markdown="\n".join(lines), description="Files quarantined or partly loaded, with reasons"
    )
