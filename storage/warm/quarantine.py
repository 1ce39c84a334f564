"""What sits in quarantine: files that lost rows or were refused whole, with their reasons."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import polars as pl

from storage.warm.base import Warehouse


def quarantined_files(
    warehouse: Warehouse,
    reason: str | None = None,
    since: date | None = None,
    paths: list[str] | None = None,
    loaded_too: bool = False,
) -> pl.DataFrame:
    """Newest manifest row of every file version in quarantine (whole or partly), newest first.

    ``reason`` matches a check name or words of the reason (case-insensitive); ``since`` the ingest day;
    ``loaded_too`` takes fully loaded files as well (a named file is replayed whatever its status).
    """
    where = ["status IN ('quarantined', 'partial', 'loaded')" if loaded_too else "status IN ('quarantined', 'partial')"]
    params: dict[str, object] = {}
    if reason:
        where.append("positionCaseInsensitive(reasons, {reason:String}) > 0")
        params["reason"] = reason
    if since:
        where.append("ingested_at >= {since:DateTime64(6, 'UTC')}")
        params["since"] = datetime.combine(since, time(), tzinfo=UTC)
    if paths:
        where.append("path IN {paths:Array(String)}")
        params["paths"] = paths
    return warehouse.query_df(
        f"""SELECT path, sha256, source_id, toString(format) AS format, toString(venue) AS venue, symbol,
                   toString(status) AS status,
                   rows_read, rows_loaded, rows_quarantined, reasons, read_options, ingested_at, first_ts, last_ts
            FROM ingest_files FINAL WHERE {" AND ".join(where)} ORDER BY ingested_at DESC, path""",
        params,
    )


def quarantined_span(warehouse: Warehouse, source_ids: list[int]) -> tuple[datetime | None, datetime | None]:
    """First and last minute held by these files, loaded or quarantined (the days a replay touches)."""
    if not source_ids:
        return None, None
    frame = warehouse.query_df(
        """SELECT min(t) AS first, max(t) AS last FROM (
               SELECT ts AS t FROM bars_1m WHERE source_id IN {ids:Array(UInt64)}
               UNION ALL SELECT assumeNotNull(ts) AS t FROM quarantine_bars
                         WHERE ts IS NOT NULL AND source_id IN {ids:Array(UInt64)})""",
        {"ids": source_ids},
    )
    if frame.height == 0 or frame["first"][0] is None:
        return None, None
    return frame["first"][0], frame["last"][0]
