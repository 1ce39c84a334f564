"""Bring the warm schema up to date (idempotent), so every flow can start on a fresh home."""

from __future__ import annotations

from prefect import task

from core.settings import Settings
from storage.warm import open_warehouse
from storage.warm.schema import migrate
from tasks.retry import task_options


@task(name="ensure_schema", **task_options(1.0))
def ensure_schema(settings: Settings) -> list[int]:
    with open_warehouse(settings) as warehouse:
        return [m.version for m in migrate(warehouse)]
