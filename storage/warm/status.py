"""Read-only figures of the warm tier for ``marketops status``."""

from __future__ import annotations

from typing import Any

import polars as pl

from storage.warm.base import Warehouse
from storage.warm.quality import latest_validation


def warm_status(warehouse: Warehouse) -> dict[str, Any]:
    bars = warehouse.query_df(
        "SELECT count() AS bars, uniqExact(venue, symbol) AS symbols, min(ts) AS first_ts, max(ts) AS last_ts "
        "FROM bars_1m FINAL"
    ).row(0, named=True)
    return {
        "backend": warehouse.backend,
        "database": warehouse.database,
        "bars": int(bars["bars"]),
        "symbols": int(bars["symbols"]),
        "first_ts": bars["first_ts"].isoformat() if bars["bars"] else None,
        "last_ts": bars["last_ts"].isoformat() if bars["bars"] else None,
    }


def ingest_status(warehouse: Warehouse) -> dict[str, Any]:
    files = warehouse.query_df(
        """
        SELECT
            countIf(status IN ('loaded', 'partial')) AS files_loaded,
            countIf(status = 'partial') AS files_partial,
            countIf(status = 'quarantined') AS files_quarantined,
            countIf(status = 'failed') AS files_failed,
            sum(rows_quarantined) AS rows_quarantined,
            max(ingested_at) AS last_ingest
        FROM ingest_files FINAL
        """
    ).row(0, named=True)
    return {
        "files_loaded": int(files["files_loaded"]),
        "files_partial": int(files["files_partial"]),
        "files_quarantined": int(files["files_quarantined"]),
        "files_failed": int(files["files_failed"]),
        "rows_quarantined": int(files["rows_quarantined"] or 0),
        "last_ingest": files["last_ingest"].isoformat()
        if files["files_loaded"] or files["files_quarantined"]
        else None,
    }


def maintenance_status(warehouse: Warehouse) -> dict[str, Any]:
    last = warehouse.query_df("SELECT max(started_at) AS at, count() AS n FROM optimize_log WHERE status = 'done'").row(
        0, named=True
    )
    return {"last_optimize": last["at"].isoformat() if last["n"] else None}


def validation_status(warehouse: Warehouse) -> dict[str, Any]:
    """Pass rates and anomalies of the newest validate run (None before the first run)."""
    last = latest_validation(warehouse)
    if last is None:
        return {
            "last_run": None,
            "pass_rate_files": None,
            "pass_rate_rows": None,
            "pass_rate_symbol_days": None,
            "anomalies_by_check": {},
        }
    return {
        "last_run": last.get("run_id"),
        "range": f"{last['first']}..{last['last']}",
        "pass_rate_files": last["pass_rate_files"],
        "pass_rate_rows": last["pass_rate_rows"],
        "pass_rate_symbol_days": last["pass_rate_symbol_days"],
        "breach": last["breach"],
        "anomalies_by_check": last["anomalies_by_check"],
        "known_events": last["known_events"],
        "report": last.get("report"),
    }


def latest_bars(warehouse: Warehouse) -> pl.DataFrame:
    """Newest bar time per (venue, symbol)."""
    return warehouse.query_df("SELECT venue, symbol, max(ts) AS last_ts FROM bars_1m GROUP BY venue, symbol")
