"""optimize: nightly OPTIMIZE ... FINAL of the partitions that changed since they were last optimized."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run

from core.optimize_plan import cutoff_deadline
from core.settings import load_settings
from flows.guards import warehouse_maintenance
from flows.hooks import RUN_HOOKS
from tasks.maintenance import optimize_partitions, plan_optimize
from tasks.retry import with_retry_policy
from tasks.setup import ensure_schema


@flow(name="optimize", **RUN_HOOKS)
def optimize(cutoff_utc: str | None = None) -> dict[str, Any]:
    """Merge changed partitions to one part each; stops starting partitions at ``cutoff_utc`` (HH:MM)."""
    logger = get_run_logger()
    settings = load_settings()
    with_retry_policy(ensure_schema, settings)(settings)
    started = datetime.now(UTC)
    with warehouse_maintenance(settings, logger=logger):  # never at the same time as a backup of this warehouse
        planned = with_retry_policy(plan_optimize, settings)(settings)
        logger.info("%d partitions to optimize", len(planned))
        results = with_retry_policy(optimize_partitions, settings)(
            settings,
            planned,
            cutoff_deadline(started, cutoff_utc or settings.optimize_cutoff_utc),
            str(flow_run.id or "local"),
        )
    done = [r for r in results if r["status"] == "done"]
    summary = {
        "partitions_planned": len(planned),
        "partitions_optimized": len(done),
        "partitions_skipped": sum(r["status"] == "skipped" for r in results),
        "partitions_cut_off": sum(r["status"] == "cutoff" for r in results),
        "parts_before": sum(r["parts_before"] for r in done),
        "parts_after": sum(r["parts_after"] for r in done),
        "rows_before": sum(r["rows_before"] for r in done),
        "rows_after": sum(r["rows_after"] for r in done),
        "seconds": round(sum(r["duration_s"] for r in done), 3),
    }
    logger.info("optimize: %s", summary)
    if done:
        create_table_artifact(
            key="optimize-partitions",
            table=[{k: str(v) for k, v in r.items()} for r in done],
            description="Partitions optimized",
        )
    create_markdown_artifact(
        key="optimize-summary", markdown="# Optimize\n\n" + "\n".join(f"- {k}: {v}" for k, v in summary.items())
    )
    return summary
