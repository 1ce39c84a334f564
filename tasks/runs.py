"""Record a flow run's outcome in the warm tier."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import task

from core.settings import Settings
from storage.warm import open_warehouse
from storage.warm.runs import record_run as write_run
from tasks.retry import task_options


@task(name="record_run", **task_options(1.0))
def record_run(
    settings: Settings,
    run_id: str,
    flow: str,
    status: str,
    started_at: datetime,
    finished_at: datetime,
    parameters: dict[str, Any],
    summary: dict[str, Any],
) -> None:
    with open_warehouse(settings) as warehouse:
        write_run(warehouse, run_id, flow, status, started_at, finished_at, parameters, summary)
