"""Warm-tier reads and writes of the validate flow: bars and their context in, anomalies and quality rows out.

Validate owns the anomalies it finds (``origin = 'validate'``) and rewrites them per range: a
rerun deletes what it found before for the same symbols and range, then inserts what it finds
now, so a rerun never doubles and a fixed problem disappears. Ingest-time anomalies are kept;
only their ``known_event`` annotation is refreshed when the allowlist changed.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from core.formats.frame import TS_TYPE
from storage.warm.base import Warehouse

_TS = "DateTime64(3, 'UTC')"
_SYMBOLS = "venue IN {venues:Array(String)} AND symbol IN {symbols:Array(String)}"
RECENT_LIMIT = timedelta(days=7)  # a symbol silent longer than this before a range is retired, not gapped


def _pairs(symbols: pl.DataFrame) -> dict[str, Any]:
    return {"venues": sorted(set(symbols["venue"].to_list())), "symbols": sorted(set(symbols["symbol"].to_list()))}


def _only(frame: pl.DataFrame, symbols: pl.DataFrame) -> pl.DataFrame:
    """Drop rows of (venue, symbol) pairs the IN-lists let through but the batch does not hold."""
    return frame.join(symbols.select("venue", "symbol"), on=["venue", "symbol"], how="semi")


def symbols_in_scope(warehouse: Warehouse, start: datetime, end: datetime) -> pl.DataFrame:
    """venue, symbol, first_seen, last_seen of every symbol in scope.

    In scope: data up to ``RECENT_LIMIT`` before the range and not only after it.
    """
    return warehouse.query_df(
        f"""
        SELECT toString(venue) AS venue, symbol, min(first_ts) AS first_seen, max(last_ts) AS last_seen
        FROM ingest_files FINAL
        WHERE first_ts IS NOT NULL AND status IN ('loaded', 'partial', 'quarantined')
        GROUP BY venue, symbol
        HAVING max(last_ts) >= {{recent:{_TS}}} AND min(first_ts) < {{end:{_TS}}}
        ORDER BY venue, symbol
        """,
        {"recent": start - RECENT_LIMIT, "end": end},
    ).with_columns(pl.col("first_seen", "last_seen").cast(TS_TYPE))


def read_bars(warehouse: Warehouse, symbols: pl.DataFrame, start: datetime, end: datetime) -> pl.DataFrame:
    """The bars the checks judge, sorted by venue, symbol, ts (``FINAL``: what readers of the store see)."""
    frame = warehouse.query_df(
        f"""
        SELECT toString(venue) AS venue, symbol, ts, open, high, low, close, volume, source_id
        FROM bars_1m FINAL
        WHERE ts >= {{start:{_TS}}} AND ts < {{end:{_TS}}} AND {_SYMBOLS}
        ORDER BY venue, symbol, ts
        """,
        {"start": start, "end": end, **_pairs(symbols)},
    )
    return _only(frame, symbols).with_columns(pl.col("ts").cast(TS_TYPE))


def cross_file_copies(warehouse: Warehouse, symbols: pl.DataFrame, start: datetime, end: datetime) -> pl.DataFrame:
    """Every stored copy of minutes held by more than one source file (read before merges collapse them)."""
    frame = warehouse.query_df(
        f"""
        SELECT toString(venue) AS venue, symbol, ts, source_id, version, open, high, low, close, volume
        FROM bars_1m
        WHERE ts >= {{start:{_TS}}} AND ts < {{end:{_TS}}} AND {_SYMBOLS}
          AND (venue, symbol, ts) IN (
              SELECT venue, symbol, ts FROM bars_1m
              WHERE ts >= {{start:{_TS}}} AND ts < {{end:{_TS}}} AND {_SYMBOLS}
              GROUP BY venue, symbol, ts HAVING uniqExact(source_id) > 1)
        """,
        {"start": start, "end": end, **_pairs(symbols)},
    )
    return _only(frame, symbols).with_columns(pl.col("ts").cast(TS_TYPE))


def source_paths(warehouse: Warehouse, source_ids: list[int]) -> pl.DataFrame:
    if not source_ids:
        return pl.DataFrame(schema={"source_id": pl.UInt64, "path": pl.String})
    return warehouse.query_df(
        "SELECT DISTINCT source_id, path FROM ingest_files WHERE source_id IN {ids:Array(UInt64)}",
        {"ids": sorted(set(source_ids))},
    )


def delete_validate_anomalies(
    warehouse: Warehouse, symbols: pl.DataFrame, start: datetime, end: datetime, stretched: pl.DataFrame
) -> None:
    """Forget what validate found before for these symbols in the range.

    ``stretched``: intervals found now that start before the range (venue, symbol, check, ts, end_ts);
    an older, shorter copy of each (seen before its end had arrived) lies outside the range and goes too.
    """
    warehouse.delete(
        "anomalies",
        f"origin = 'validate' AND ts < {{end:{_TS}}} AND end_ts >= {{start:{_TS}}} AND {_SYMBOLS}",
        {"start": start, "end": end, **_pairs(symbols)},
    )
    for row in stretched.iter_rows(named=True):
        warehouse.delete(
            "anomalies",
            f"""origin = 'validate' AND venue = {{venue:String}} AND symbol = {{symbol:String}}
                AND check = {{check:String}} AND ts <= {{end_ts:{_TS}}} AND end_ts >= {{ts:{_TS}}}""",
            row,
        )


def write_anomalies(warehouse: Warehouse, anomalies: pl.DataFrame, origin: str, run_id: str, now: datetime) -> None:
    if anomalies.height == 0:
        return
    rows = anomalies.with_columns(
        pl.lit(origin).alias("origin"),
        pl.lit(run_id).alias("run_id"),
        pl.lit(now).cast(pl.Datetime("us", "UTC")).alias("detected_at"),
    )
    for part in rows.with_columns(_y=pl.col("ts").dt.year()).partition_by("_y", include_key=False):
        warehouse.insert_df("anomalies", part)


def anomalies_in_range(warehouse: Warehouse, start: datetime, end: datetime) -> pl.DataFrame:
    """Every anomaly (ingest and validate) touching the range, one row per key."""
    return warehouse.query_df(
        f"""
        SELECT toString(venue) AS venue, symbol, ts, end_ts, minutes, toString(check) AS check,
               toString(severity) AS severity,
               detail, source_id, line, toString(origin) AS origin, known_event, run_id, detected_at
        FROM anomalies FINAL
        WHERE ts < {{end:{_TS}}} AND end_ts >= {{start:{_TS}}}
        ORDER BY venue, symbol, ts, check
        """,
        {"start": start, "end": end},
    ).with_columns(pl.col("ts", "end_ts").cast(TS_TYPE))


def quarantined_in_range(
    warehouse: Warehouse, start: datetime, end: datetime, symbols: pl.DataFrame | None = None
) -> pl.DataFrame:
    """venue, symbol, ts, source_id, line of the quarantined rows of the range (of ``symbols`` only, when given)."""
    where = f"ts IS NOT NULL AND ts >= {{start:{_TS}}} AND ts < {{end:{_TS}}}" + (
        f" AND {_SYMBOLS}" if symbols is not None else ""
    )
    frame = warehouse.query_df(
        f"SELECT toString(venue) AS venue, symbol, assumeNotNull(ts) AS ts, source_id, line "
        f"FROM quarantine_bars FINAL WHERE {where}",
        {"start": start, "end": end, **(_pairs(symbols) if symbols is not None else {})},
    ).with_columns(pl.col("ts").cast(TS_TYPE))
    return _only(frame, symbols) if symbols is not None else frame


def files_in_scope(warehouse: Warehouse, start: datetime, end: datetime) -> pl.DataFrame:
    """The newest manifest row of every file with a bar or a quarantined row in the range, or no readable
    row at all and ingested in it: source_id, path, status, rows_read, rows_quarantined, reasons.

    Only versions that hold data now count: superseded and reprocessed-away versions, duplicate copies and
    skipped landing entries tell nothing about the data's quality."""
    return warehouse.query_df(
        f"""
        SELECT source_id, path, toString(status) AS status, rows_read, rows_loaded, rows_quarantined, reasons,
               ingested_at
        FROM ingest_files FINAL
        WHERE status IN ('loaded', 'partial', 'quarantined') AND (
            source_id IN (SELECT DISTINCT source_id FROM bars_1m WHERE ts >= {{start:{_TS}}} AND ts < {{end:{_TS}}})
            OR source_id IN (SELECT DISTINCT source_id FROM quarantine_bars
                             WHERE ts >= {{start:{_TS}}} AND ts < {{end:{_TS}}})
            OR (first_ts IS NULL AND ingested_at >= {{start:{_TS}}} AND ingested_at < {{end:{_TS}}}))
        ORDER BY path
        """,
        {"start": start, "end": end},
    )


def write_symbol_days(
    warehouse: Warehouse, days: pl.DataFrame, first: date, last: date, run_id: str, now: datetime
) -> None:
    """Replace the quality rows of ``first``..``last`` (a symbol that has left the range leaves no stale row)."""
    warehouse.delete("symbol_days", "day >= {first:Date} AND day <= {last:Date}", {"first": first, "last": last})
    if days.height == 0:
        return
    rows = days.with_columns(
        pl.lit(run_id).alias("run_id"), pl.lit(now).cast(pl.Datetime("us", "UTC")).alias("validated_at")
    )
    for part in rows.with_columns(_y=pl.col("day").dt.year()).partition_by("_y", include_key=False):
        warehouse.insert_df("symbol_days", part)


def symbol_days_in_range(warehouse: Warehouse, first: date, last: date) -> pl.DataFrame:
    return warehouse.query_df(
        """SELECT toString(venue) AS venue, symbol, day, expected, present, off_session, missing, quarantined,
                  quarantined_unexplained,
                  anomalies, known, by_check, coverage, toString(status) AS status
           FROM symbol_days FINAL WHERE day >= {first:Date} AND day <= {last:Date} ORDER BY venue, symbol, day""",
        {"first": first, "last": last},
    )


def validation_history(warehouse: Warehouse, limit: int = 60) -> pl.DataFrame:
    """Earlier validate runs, oldest first: finished_at, run_id and their pass rates (for the trend)."""
    runs = warehouse.query_df(
        "SELECT run_id, finished_at, summary FROM runs FINAL WHERE flow = 'validate' "
        "ORDER BY finished_at DESC LIMIT {n:UInt32}",
        {"n": limit},
    )
    rows = []
    for r in runs.iter_rows(named=True):
        summary = json.loads(r["summary"] or "{}")
        if "pass_rate_files" in summary:
            rows.append(
                {
                    "run_id": r["run_id"],
                    "finished_at": r["finished_at"],
                    "range": f"{summary.get('first')}..{summary.get('last')}",
                    "pass_rate_files": summary["pass_rate_files"],
                    "pass_rate_rows": summary["pass_rate_rows"],
                    "pass_rate_symbol_days": summary.get("pass_rate_symbol_days", 1.0),
                }
            )
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "run_id": pl.String,
        "finished_at": pl.Datetime("us", "UTC"),
        "range": pl.String,
        "pass_rate_files": pl.Float64,
        "pass_rate_rows": pl.Float64,
        "pass_rate_symbol_days": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema).sort("finished_at")


def latest_validation(warehouse: Warehouse) -> dict[str, Any] | None:
    """The summary of the newest validate run, or None before the first one."""
    frame = warehouse.query_df(
        "SELECT summary FROM runs FINAL WHERE flow = 'validate' ORDER BY finished_at DESC LIMIT 1"
    )
    return json.loads(frame["summary"][0]) if frame.height else None


def range_bars(warehouse: Warehouse, start: datetime, end: datetime, limit: int) -> pl.DataFrame:
    """Up to ``limit`` bars of the range (every symbol), for the Great Expectations suite."""
    return warehouse.query_df(
        f"""SELECT toString(venue) AS venue, symbol, ts, open, high, low, close, volume FROM bars_1m FINAL
            WHERE ts >= {{start:{_TS}}} AND ts < {{end:{_TS}}} ORDER BY venue, symbol, ts LIMIT {{n:UInt64}}""",
        {"start": start, "end": end, "n": limit},
    )


def problem_files(files: pl.DataFrame, limit: int = 25) -> pl.DataFrame:
    """The files of a scope that lost rows, most rows lost first."""
    return (
        files.filter(pl.col("status").is_in(["quarantined", "partial"]))
        .sort("rows_quarantined", descending=True)
        .head(limit)
    )


def days_ingested_since(warehouse: Warehouse, since: datetime) -> tuple[date, date] | None:
    """First and last UTC day of the data in files ingested at or after ``since`` (what a daily run must validate)."""
    frame = warehouse.query_df(
        "SELECT min(first_ts) AS first, max(last_ts) AS last FROM ingest_files FINAL "
        "WHERE ingested_at >= {since:DateTime64(6, 'UTC')} AND first_ts IS NOT NULL",
        {"since": since},
    )
    if frame.height == 0 or frame["first"][0] is None:
        return None
    return frame["first"][0].date(), frame["last"][0].date()
