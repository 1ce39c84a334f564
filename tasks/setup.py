"""Bring the warm schema up to date (idempotent), so every flow can start on a fresh home."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
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


def warehouse_held(hold: bool, items: Iterator[Item]) -> Iterator[Item]:
    """Yield ``items`` inside :func:`engine_kept` (when ``hold``): the embedded engine stays up between them.

    Reopening the embedded warehouse costs ~0.1-0.3 s (chDB reloads every part's metadata) plus each adapter's
    settings and column-type reads. With a Dask runner the flow process runs one short read or load per batch,
    one after another, so without this every batch would pay that reopen twice."""
    with engine_kept() if hold else nullcontext():
        yield from items
