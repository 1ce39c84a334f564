"""Record a flow run's outcome in the warm tier."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from core.settings import Settings
from storage.runs import record_run as write_run
from storage.warm import open_warehouse
from tasks.retry import backoff_delays, retry_transient_only


@task(name="record_run", cache_policy=NO_CACHE, persist_result=False, retries=3,
      retry_delay_seconds=backoff_delays(3, 1.0), retry_condition_fn=retry_transient_only)
def record_run(settings: Settings, run_id: str, flow: str, status: str, started_at: datetime, finished_at: datetime,
               parameters: dict[str, Any], summary: dict[str, Any]) -> None:
    with open_warehouse(settings) as warehouse:
        write_run(warehouse, run_id, flow, status, started_at, finished_at, parameters, summary)
