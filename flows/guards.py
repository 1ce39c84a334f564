"""Cross-run exclusion: backup and optimize never run at the same time on one warehouse."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists

from core.settings import Settings


def maintenance_limit_name(settings: Settings) -> str:
    """One limit per warehouse: the server URL or the embedded home identifies it."""
    where = settings.clickhouse_url or str(settings.warehouse_dir)
    return f"marketops-maintenance-{hashlib.sha256(where.encode()).hexdigest()[:12]}"


@contextmanager
def warehouse_maintenance(settings: Settings, timeout_s: float = 6 * 3600) -> Iterator[None]:
    """Hold the warehouse's single maintenance slot (created on first use) for the block."""
    name = maintenance_limit_name(settings)
    with get_client(sync_client=True) as client:
        try:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
        except ObjectAlreadyExists:
            pass
    with concurrency(name, occupy=1, timeout_seconds=timeout_s, strict=True):
        yield
