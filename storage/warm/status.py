"""Read-only figures of the warm tier for ``marketops status``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import polars as pl

from storage.warm.base import Warehouse


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
            countIf(status = 'duplicate') AS files_duplicate,
            countIf(status = 'skipped') AS files_skipped,
            countIf(status = 'superseded') AS files_superseded,
            sumIf(rows_quarantined, status IN ('partial', 'quarantined')) AS rows_quarantined,
            max(ingested_at) AS last_ingest
        FROM ingest_files FINAL
        """
    ).row(0, named=True)
    return {
        "files_loaded": int(files["files_loaded"]),
        "files_partial": int(files["files_partial"]),
        "files_quarantined": int(files["files_quarantined"]),
        "files_failed": int(files["files_failed"]),
        "files_duplicate": int(files["files_duplicate"]),
        "files_skipped": int(files["files_skipped"]),
        "files_superseded": int(files["files_superseded"]),
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


def _newest_range_validation(warehouse: Warehouse) -> dict[str, Any] | None:
    """The validate run of the newest range (ties: the newest run) — a re-check of an old range,
    such as a replay's, does not replace what the daily range says."""
    frame = warehouse.query_df(
        "SELECT summary, finished_at FROM runs FINAL WHERE flow = 'validate' ORDER BY finished_at DESC LIMIT 500"
    )
    best: tuple[str, Any] | None = None
    chosen = None
    for row in frame.iter_rows(named=True):
        summary = json.loads(row["summary"] or "{}")
        rank = (str(summary.get("last", "")), row["finished_at"])
        if best is None or rank > best:
            best, chosen = rank, summary
    return chosen


def validation_status(warehouse: Warehouse) -> dict[str, Any]:
    """Pass rates and anomalies of the newest range's validate run (None before the first run).

    ``state`` is ``ok``, ``breach`` or ``no_data``: a run that checked nothing shows no pass rate at all.
    """
    last = _newest_range_validation(warehouse)
    if last is None:
        return {
            "state": None,
            "last_run": None,
            "pass_rate_files": None,
            "pass_rate_rows": None,
            "pass_rate_symbol_days": None,
            "anomalies_by_check": {},
        }
    state = last.get("state") or ("breach" if last.get("breach") else "ok")
    rates = {k: (None if state == "no_data" else last[k]) for k in _RATES}
    return {
        "state": state,
        "last_run": last.get("run_id"),
        "range": f"{last['first']}..{last['last']}",
        **rates,
        "rows_checked": last.get("rows_checked"),
        "breach": last["breach"] and state != "no_data",
        "anomalies_by_check": last["anomalies_by_check"],
        "known_events": last["known_events"],
        "report": last.get("report"),
    }


_RATES = ("pass_rate_files", "pass_rate_rows", "pass_rate_symbol_days")


def quarantine_status(warehouse: Warehouse, since: datetime) -> dict[str, Any]:
    """What was quarantined by ingests since ``since`` (the last 24 h in ``status``)."""
    row = warehouse.query_df(
        """
        SELECT countIf(status = 'quarantined') AS files_quarantined, countIf(status = 'partial') AS files_partial,
               countIf(status = 'failed') AS files_failed, sum(rows_quarantined) AS rows_quarantined
        FROM ingest_files FINAL WHERE ingested_at >= {since:DateTime64(6, 'UTC')}
        """,
        {"since": since},
    ).row(0, named=True)
    return {
        "since": since.isoformat(),
        "files_quarantined": int(row["files_quarantined"] or 0),
        "files_partial": int(row["files_partial"] or 0),
        "files_failed": int(row["files_failed"] or 0),
        "rows_quarantined": int(row["rows_quarantined"] or 0),
    }


def quarantine_events(warehouse: Warehouse, since: datetime) -> list[list[Any]]:
    """[ingested_at (ISO), status, rows_quarantined] of every ingest_files row since ``since`` that quarantined
    or failed anything: what ``quarantine_status`` counts, kept raw so a later window can be counted from it."""
    frame = warehouse.query_df(
        """
        SELECT ingested_at, toString(status) AS status, rows_quarantined FROM ingest_files FINAL
        WHERE ingested_at >= {since:DateTime64(6, 'UTC')}
          AND (status IN ('quarantined', 'partial', 'failed') OR rows_quarantined > 0)
        ORDER BY ingested_at
        """,
        {"since": since},
    )
    return [[at.isoformat(), status, int(rows or 0)] for at, status, rows in frame.iter_rows()]


def latest_bars(warehouse: Warehouse) -> pl.DataFrame:
    """Newest bar time per (venue, symbol)."""
    return warehouse.query_df(
        "SELECT toString(venue) AS venue, symbol, max(ts) AS last_ts FROM bars_1m GROUP BY venue, symbol "
        "ORDER BY venue, symbol"
    )


def recorded_runs(warehouse: Warehouse) -> dict[str, Any]:
    """The last run each flow recorded in the warm tier (state, start, end, duration): what is known about
    runs even when no Prefect API is reachable (flows run from the CLI use a temporary one)."""
    frame = warehouse.query_df(
        """
        SELECT toString(flow) AS flow, argMax(run_id, finished_at) AS run_id, argMax(status, finished_at) AS state,
               argMax(started_at, finished_at) AS start, max(finished_at) AS end
        FROM runs FINAL GROUP BY flow ORDER BY flow
        """
    )
    return {
        r["flow"]: {
            "state": r["state"],
            "start": r["start"].isoformat(),
            "end": r["end"].isoformat(),
            "duration_s": round((r["end"] - r["start"]).total_seconds(), 3),
            "run_id": r["run_id"],
        }
        for r in frame.iter_rows(named=True)
    }
