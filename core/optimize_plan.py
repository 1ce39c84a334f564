"""Which partitions the nightly OPTIMIZE ... FINAL should touch: pure function of part statistics."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import polars as pl

PARTS_SCHEMA = pl.Schema(
    {
        "table": pl.String(),
        "partition": pl.String(),
        "active_parts": pl.UInt64(),
        "rows": pl.UInt64(),
        "last_modified": pl.Datetime("us", "UTC"),
    }
)
LAST_SCHEMA = pl.Schema({"table": pl.String(), "partition": pl.String(), "optimized_at": pl.Datetime("us", "UTC")})


def plan_partitions(parts: pl.DataFrame, last_optimized: pl.DataFrame) -> pl.DataFrame:
    """Partitions with more than one active part that changed since they were last optimized.

    A partition already at one part is skipped (FINAL on it would rewrite it for nothing); one that
    was never optimized, or whose newest part is newer than its last optimize, is due.
    """
    joined = parts.join(last_optimized, on=["table", "partition"], how="left")
    due = joined.filter(
        (pl.col("active_parts") > 1)
        & (pl.col("optimized_at").is_null() | (pl.col("last_modified") > pl.col("optimized_at")))
    )
    return due.sort("table", "partition").select("table", "partition", "active_parts", "rows")


def cutoff_deadline(started: datetime, cutoff_utc: str | None) -> datetime | None:
    """The next ``HH:MM`` UTC after ``started`` (a 02:15 run with cutoff 05:00 stops starting work at 05:00)."""
    if not cutoff_utc:
        return None
    hour, minute = (int(x) for x in cutoff_utc.split(":"))
    deadline = datetime.combine(started.date(), time(hour, minute), tzinfo=UTC)
    return deadline if deadline > started else deadline + timedelta(days=1)
