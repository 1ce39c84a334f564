"""Event tasks: read back what a run touched, for the event that announces it."""

from __future__ import annotations

import polars as pl
from prefect import task

from core.settings import Settings
from storage.warm import open_warehouse
from storage.warm.touched import touched_by_run
from tasks.retry import task_options


@task(name="touched_by_run", **task_options())
def touched_files(settings: Settings, run_id: str) -> pl.DataFrame:
    """venue, symbol, first_ts, last_ts, rows_loaded of the files the run loaded bars from."""
    with open_warehouse(settings) as warehouse:
        return touched_by_run(warehouse, run_id)
