"""ingest: discover new or changed raw files, load them batch by batch, report what happened."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run

from core.batching import BatchSpec
from core.errors import MarketopsError
from core.parse import ReadOptions
from core.run_summary import IngestSummary, summarize
from core.settings import load_settings
from flows.bounded import run_bounded
from flows.hooks import RUN_HOOKS, run_link
from flows.runners import SettingsTaskRunner, outcome, warehouse_in_flow
from tasks.alerts import check_freshness
from tasks.ingest import (
    failed_outcomes,
    judge_batch_files,
    load_batch,
    outcomes_frame,
    plan_ingest,
    settled_in_batch,
    store_judged_batch,
)
from tasks.retry import with_retry_policy
from tasks.runs import record_run
from tasks.setup import ensure_schema, warehouse_held
from tasks.warmup import refresh_hot_after_ingest


class IngestFailed(MarketopsError):
    """Some files could not be loaded (not quarantined: failed) and will be retried next run."""


@flow(
    name="ingest",
    task_runner=SettingsTaskRunner(max_threads=8),
    **RUN_HOOKS,
)
def ingest(
    paths: list[str] | None = None,
    format: str | None = None,
    venue: str | None = None,
    symbol: str | None = None,
    timezone: str | None = None,
    force: bool = False,
    date_order: str | None = None,
) -> dict[str, Any]:
    """Load new/changed raw 1m files under ``paths`` into the warm tier.

    ``paths`` defaults to MARKETOPS_LANDING_PATHS, else $MARKETOPS_HOME/landing.
    """
    logger = get_run_logger()
    settings = load_settings()
    started = datetime.now(UTC)
    run_id = str(flow_run.id or "local")
    if not paths:
        settings.default_landing_dir.mkdir(
            parents=True, exist_ok=True
        )  # an empty default landing is simply nothing to do
    scan = paths or [str(p) for p in settings.landing_dirs]
    options = ReadOptions(
        format=format,
        venue=venue,
        symbol=symbol,
        timezone=timezone or settings.generic_timezone,
        columns=settings.generic_columns,
        date_order=date_order,
    )

    with_retry_policy(ensure_schema, settings)(settings)
    plan = with_retry_policy(plan_ingest, settings)(settings, scan, options, force)
    logger.info(
        "%d files seen, %d unchanged, %d batches to load", plan.files_seen, plan.files_skipped, len(plan.batches)
    )

    rows: list[dict[str, object]] = []
    in_flow = warehouse_in_flow(settings)  # workers judge, this process loads (embedded warehouse on Dask)
    load_task = with_retry_policy(load_batch, settings)
    judge, settled = with_retry_policy(judge_batch_files, settings), with_retry_policy(settled_in_batch, settings)
    store = with_retry_policy(store_judged_batch, settings)

    def submit(batch: BatchSpec) -> Any:
        if not in_flow:
            return load_task.submit(settings, batch, options, run_id, force)
        known = settled(settings, batch, force, return_state=True)
        if known.is_failed():  # a failed state answers .result() like a failed future: the batch fails, not the run
            return known
        return judge.submit(settings, batch, options, run_id, known.result())

    for batch, result, done in warehouse_held(
        settings, in_flow, run_bounded(plan.batches, submit, settings.ingest_workers)
    ):
        if in_flow and not isinstance(result, BaseException):
            result = outcome(store(settings, result, run_id, force, return_state=True))
        if isinstance(result, BaseException):  # failed for good after retries: every file of it failed
            logger.error("batch %s failed: %s", batch.key, result)
            rows.extend(failed_outcomes(batch, f"{type(result).__name__}: {result}"))
        else:
            rows.extend(result)
        logger.info("[%d/%d] batch %s done (%d files)", done, len(plan.batches), batch.key, len(batch.files))

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
    stale = with_retry_policy(check_freshness, settings)(settings, "ingest", run_link(run_id) if flow_run.id else None)
    if stale:
        logger.warning("stale symbols: %s", ", ".join(stale))
    with_retry_policy(record_run, settings)(
        settings,
        run_id,
        "ingest",
        "completed" if summary.ok else "failed",
        started,
        datetime.now(UTC),
        {"paths": scan, "format": format, "venue": venue, "symbol": symbol, "force": force},
        summary.as_dict(),
    )
    if not summary.ok:
        raise IngestFailed(f"{summary.files_failed} files failed to load: {summary.headline()}")
    return summary.as_dict()


def _publish(summary: IngestSummary, outcomes: pl.DataFrame) -> None:
    create_table_artifact(key="ingest-summary", table=[summary.as_dict()], description=summary.headline())
    problems = (
        outcomes.filter(pl.col("status").is_in(["quarantined", "partial", "failed"]))
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
