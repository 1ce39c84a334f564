"""Run records in the warm tier: what each flow run did, for status and trend reports."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import polars as pl

from storage.warm.base import Warehouse


def record_run(
    warehouse: Warehouse,
    run_id: str,
    flow: str,
    status: str,
    started_at: datetime,
    finished_at: datetime,
    parameters: dict[str, Any],
    summary: dict[str, Any],
) -> None:
    row = pl.DataFrame(
        {
            "run_id": [run_id],
            "flow": [flow],
            "status": [status],
            "started_at": [started_at],
            "finished_at": [finished_at],
            "parameters": [json.dumps(parameters, default=str)],
            "summary": [json.dumps(summary, default=str)],
        },
        schema_overrides={"started_at": pl.Datetime("us", "UTC"), "finished_at": pl.Datetime("us", "UTC")},
    )
    warehouse.insert_df("runs", row)
