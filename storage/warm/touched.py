"""What one ingest run touched in the warm tier, read back from the manifest it wrote (for its event)."""

from __future__ import annotations

import polars as pl

from storage.warm.base import Warehouse


def touched_by_run(warehouse: Warehouse, run_id: str) -> pl.DataFrame:
    """venue, symbol, first_ts, last_ts, rows_loaded of every file version the run settled with bars."""
    return warehouse.query_df(
        "SELECT venue, symbol, first_ts, last_ts, rows_loaded FROM ingest_files FINAL "
        "WHERE run_id = {run_id:String} AND rows_loaded > 0",
        {"run_id": run_id},
    )
