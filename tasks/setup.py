"""Bring the warm schema up to date (idempotent), so every flow can start on a fresh home."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import TypeVar

from prefect import task

from core.settings import Settings
from storage.warm import open_warehouse
from storage.warm.factory import engine_kept
from storage.warm.schema import migrate
from tasks.retry import task_options

Item = TypeVar("Item")

__all__ = ["engine_kept", "ensure_schema", "warehouse_held"]


@task(name="ensure_schema", **task_options(1.0))
def ensure_schema(settings: Settings) -> list[int]:
    with open_warehouse(settings) as warehouse:
        return [m.version for m in migrate(warehouse)]


def hold_warehouse(settings: Settings, hold: bool) -> AbstractContextManager[object]:
    """Keep the embedded warehouse open in this process for a ``with`` block (when ``hold``), so that the
    tasks inside it (schema, plan, batches) share one session instead of reopening it one after another."""
    return open_warehouse(settings) if hold else nullcontext()


def warehouse_held(settings: Settings, hold: bool, items: Iterator[Item]) -> Iterator[Item]:
    """Yield ``items`` while the embedded warehouse stays open in this process (when ``hold``).

    The embedded session is shared by the tasks of a process and closed when its last user leaves;
    reopening it costs about a second (chDB reloads every part's metadata). With a Dask runner the
    flow process runs one short read or load per batch, one after another, so without this every
    batch would pay that reopen twice."""
    with hold_warehouse(settings, hold):
        yield from items
