"""daily: the main job. Today: ingest -> caches -> warmup; validate joins when its issue lands."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.hooks import alert_on_failure
from flows.caches import caches
from flows.ingest import ingest
from flows.warmup import warmup


@flow(name="daily", on_failure=[alert_on_failure], on_crashed=[alert_on_failure])
def daily(paths: list[str] | None = None) -> dict[str, object]:
    """Run every stage of the day in order, as subflows, and summarise them."""
    ingested = ingest(paths=paths)
    cached = caches()
    warmed = warmup(mode="force")
    create_markdown_artifact(
        key="daily-summary",
        markdown=f"# Daily run\n\n- ingest: {ingested}\n- caches: {cached}\n- warmup: {warmed}\n",
        description="Stages of the daily job",
    )
    return {"ingest": ingested, "caches": cached, "warmup": warmed}
