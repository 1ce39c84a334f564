"""daily: the main job — ingest, validate what it touched, rebuild caches, warm the hot tier."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from core.settings import load_settings
from flows.caches import caches
from flows.hooks import RUN_HOOKS
from flows.ingest import ingest
from flows.validate import validate
from flows.warmup import warmup
from tasks.retry import with_retry_policy
from tasks.validate import days_to_validate


@flow(name="daily", **RUN_HOOKS)
def daily(paths: list[str] | None = None) -> dict[str, Any]:
    """Run every stage of the day in order, as subflows, and summarise them (the report comes from validate)."""
    started = datetime.now(UTC)
    ingested = ingest(paths=paths)
    days = with_retry_policy(days_to_validate, load_settings())(load_settings(), started)
    validated = validate(since=days[0], until=days[1]) if days else validate()
    cached = caches()
    warmed = warmup(mode="force")
    create_markdown_artifact(
        key="daily-summary",
        markdown=(
            f"# Daily run\n\n- ingest: {ingested}\n"
            f"- validate: {validated['headline']} (report: {validated.get('report')})\n"
            f"- caches: {cached}\n- warmup: {warmed}\n"
        ),
        description="Stages of the daily job",
    )
    return {"ingest": ingested, "validate": validated, "caches": cached, "warmup": warmed}
