"""Bring the warm schema up to date (idempotent), so every flow can start on a fresh home."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from core.settings import Settings
from storage.schema import migrate
from storage.warm import open_warehouse
from tasks.retry import backoff_delays, retry_transient_only


@task(name="ensure_schema", cache_policy=NO_CACHE, persist_result=False, retries=3,
      retry_delay_seconds=backoff_delays(3, 1.0), retry_condition_fn=retry_transient_only)
def ensure_schema(settings: Settings) -> list[int]:
    with open_warehouse(settings) as warehouse:
        return [m.version for m in migrate(warehouse)]
