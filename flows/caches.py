"""caches: rebuild the cold files of every symbol-day whose warm content differs from what they were built from."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from core import progress
from core.cache_plan import group_batches, written_summary
from core.errors import MarketopsError
from core.settings import Settings, load_settings
from flows.bounded import run_bounded
from flows.hooks import RUN_HOOKS
from flows.runners import SettingsTaskRunner, warehouse_in_flow
from tasks.caches import build_caches, plan_caches, publish_caches, read_cache_source, write_symbol_caches
from tasks.retry import with_retry_policy
from tasks.setup import engine_kept, ensure_schema


class CacheBuildFailed(MarketopsError):
    """Some symbols could not be rebuilt; nothing was recorded as built, so the next run retries them."""


@flow(
    name="caches",
    task_runner=SettingsTaskRunner(max_threads=8),
    **RUN_HOOKS,
)
def caches(full: bool = False, since: date | None = None) -> dict[str, Any]:
    """Monthly Parquet files (1m bars and features with a row group per day; 5m/15m/1h/4h/1d bars) for the months
    the changed days touch (``full``: everything)."""
    logger = get_run_logger()
    settings = load_settings()
    in_flow = warehouse_in_flow(settings)  # this process reads the bars, workers resample and write Parquet
    # The embedded engine stays up for the whole run: this process's tasks (schema, plan, batches) reuse its
    # adapters instead of starting it again one after another (see storage.warm.factory.engine_kept).
    with engine_kept():
        with_retry_policy(ensure_schema, settings)(settings)
        started = datetime.now(UTC)
        plan = with_retry_policy(plan_caches, settings)(settings, full, since)
        rows, failed = _build(settings, plan, started, in_flow)
    batches = plan["batches"]
    symbols = len({(b["venue"], b["symbol"]) for b in batches})
    if failed:  # nothing recorded as built: the next run finds these symbols' days still differ
        raise CacheBuildFailed(f"{len(failed)} symbols failed: " + "; ".join(failed[:5]))
    published = with_retry_policy(publish_caches, settings)(
        settings, rows, plan["watermark"], started, plan["sources"], plan["stale"]
    )
    written = written_summary(rows)
    summary = {
        "symbols": symbols,
        "batches": len(batches),
        "legacy_layout_files_removed": plan["legacy"],
        "days": sum(len(b["days"]) for b in batches),
        "files_written": written["files"],
        "stale_removed": len(plan["stale"]),
        "rows_written": written["rows"],
        "manifest_files": published["files"],
        "views": published["views"],
        "catalog_note": published["catalog_note"],
    }
    logger.info("caches: %s", summary)
    create_table_artifact(
        key="caches-files", table=[{"dataset": k, "files written": v} for k, v in written["by_dataset"].items()]
    )
    create_markdown_artifact(
        key="caches-summary", markdown="# Cache build\n\n" + "\n".join(f"- {k}: {v}" for k, v in summary.items())
    )
    return summary


def _build(
    settings: Settings, plan: dict[str, Any], started: datetime, in_flow: bool
) -> tuple[list[pl.DataFrame], list[str]]:
    """Run the planned batches (at most ``ingest_workers`` tasks at once); returns the manifest rows of the
    files written and what failed.

    Threads: a task runs several batches one after another (``group_batches``). Dask with the embedded
    warehouse: this process reads each batch's bars, a worker resamples and writes them."""
    logger = get_run_logger()
    batches = plan["batches"]
    logger.info(
        "%d symbols with changed days, %d batches (symbol x months)",
        len({(b["venue"], b["symbol"]) for b in batches}),
        len(batches),
    )
    read, write = with_retry_policy(read_cache_source, settings), with_retry_policy(write_symbol_caches, settings)
    build = with_retry_policy(build_caches, settings)
    # a task's batches: only what it needs to read, not the fingerprints (Prefect walks every parameter)
    refs = [{k: b[k] for k in ("venue", "symbol", "days", "months", "history")} for b in batches]
    groups = [[refs[i] for i in g] for g in group_batches(batches, settings.ingest_workers)]

    def submit(group: list[dict[str, Any]]) -> Any:
        if not in_flow:
            return build.submit(settings, group, plan["watermark"], started)
        (batch,) = group
        source = read(settings, batch["venue"], batch["symbol"], batch["days"], batch["months"], return_state=True)
        if source.is_failed():  # a failed state answers .result() like a failed future: the batch fails, not the run
            return source
        return write.submit(settings, source.result(), plan["watermark"], started)

    work = [[b] for b in refs] if in_flow else groups
    rows: list[pl.DataFrame] = []
    failed: list[str] = []
    shown = progress.current()
    shown.start("caches", sum(len(b["days"]) for b in batches), "symbol-days")
    for group, result, done in run_bounded(work, submit, settings.ingest_workers):
        names = ", ".join(sorted({f"{b['venue']}:{b['symbol']}" for b in group}))
        if isinstance(result, BaseException):
            failed.append(f"{names}: {result}")
            shown.advance(sum(len(b["days"]) for b in group), 0)
        else:
            rows.append(result)
            shown.advance(sum(len(b["days"]) for b in group), written_summary([result])["rows"])
        logger.info(
            "[%d/%d] %s %s",
            done,
            len(work),
            names,
            "failed" if isinstance(result, BaseException) else f"{rows[-1].height} files",
        )
    shown.finish()
    return rows, failed
