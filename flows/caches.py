"""caches: rebuild the cold files of every symbol-day whose warm content differs from what they were built from."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from core import progress
from core.errors import MarketopsError
from core.settings import load_settings
from flows.bounded import run_bounded
from flows.hooks import RUN_HOOKS
from flows.runners import SettingsTaskRunner, warehouse_in_flow
from tasks.caches import build_symbol_caches, plan_caches, publish_caches, read_cache_source, write_symbol_caches
from tasks.retry import with_retry_policy
from tasks.setup import ensure_schema, warehouse_held


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
    with_retry_policy(ensure_schema, settings)(settings)
    started = datetime.now(UTC)
    plan = with_retry_policy(plan_caches, settings)(settings, full, since)
    batches = plan["batches"]
    symbols = len({(b["venue"], b["symbol"]) for b in batches})
    logger.info("%d symbols with changed days, %d batches (symbol x months)", symbols, len(batches))
    build = with_retry_policy(build_symbol_caches, settings)
    read, write = with_retry_policy(read_cache_source, settings), with_retry_policy(write_symbol_caches, settings)
    in_flow = warehouse_in_flow(settings)  # this process reads the bars, workers resample and write Parquet
    rows: list[dict[str, Any]] = []
    sources: list[dict[str, Any]] = []
    failed: list[str] = []

    def submit(batch: dict[str, Any]) -> Any:
        if not in_flow:
            return build.submit(
                settings, batch["venue"], batch["symbol"], batch["days"], plan["watermark"], started, batch["months"]
            )
        source = read(settings, batch["venue"], batch["symbol"], batch["days"], batch["months"], return_state=True)
        if source.is_failed():  # a failed state answers .result() like a failed future: the batch fails, not the run
            return source
        return write.submit(settings, source.result(), plan["watermark"], started)

    # The embedded warehouse stays open for the whole run: its session is shared by this process's tasks and
    # closed when the last user leaves, and reopening it between two batches costs about a second.
    hold = in_flow or settings.warm_backend == "chdb"
    shown = progress.current()
    shown.start("caches", sum(len(b["days"]) for b in batches), "symbol-days")
    for batch, result, done in warehouse_held(settings, hold, run_bounded(batches, submit, settings.ingest_workers)):
        written = 0 if isinstance(result, BaseException) else sum(int(r["rows"]) for r in result)
        shown.advance(len(batch["days"]), written)
        if isinstance(result, BaseException):
            failed.append(f"{batch['venue']}:{batch['symbol']}: {result}")
        else:
            rows.extend(result)
            sources.extend(batch["sources"])  # recorded only for symbols whose files were all written
        logger.info(
            "[%d/%d] %s:%s %s",
            done,
            len(batches),
            batch["venue"],
            batch["symbol"],
            "failed" if isinstance(result, BaseException) else f"{len(result)} files",
        )
    shown.finish()
    if failed:  # nothing recorded as built: the next run finds these symbols' days still differ
        raise CacheBuildFailed(f"{len(failed)} symbols failed: " + "; ".join(failed[:5]))
    published = with_retry_policy(publish_caches, settings)(
        settings, rows, plan["watermark"], started, sources, plan["stale"]
    )
    summary = {
        "symbols": symbols,
        "batches": len(batches),
        "legacy_layout_files_removed": plan["legacy"],
        "days": sum(len(b["days"]) for b in batches),
        "files_written": len(rows),
        "stale_removed": len(plan["stale"]),
        "rows_written": sum(int(r["rows"]) for r in rows),
        "manifest_files": published["files"],
        "views": published["views"],
        "catalog_note": published["catalog_note"],
    }
    logger.info("caches: %s", summary)
    by_dataset: dict[str, int] = {}
    for row in rows:
        by_dataset[str(row["dataset"])] = by_dataset.get(str(row["dataset"]), 0) + 1
    create_table_artifact(
        key="caches-files", table=[{"dataset": k, "files written": v} for k, v in sorted(by_dataset.items())]
    )
    create_markdown_artifact(
        key="caches-summary", markdown="# Cache build\n\n" + "\n".join(f"- {k}: {v}" for k, v in summary.items())
    )
    return summary
