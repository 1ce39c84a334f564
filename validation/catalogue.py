"""The check catalogue: every data-quality check by name, with its severity and what it looks at.

``error`` rows never reach ``bars_1m`` (they are quarantined at ingest); ``warn`` findings are
recorded in ``anomalies`` and the data loads. Row checks judge one row; interval checks report one
anomaly per stretch of time (start ``ts``, last minute ``end_ts``, ``minutes``), never one per minute.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from core.formats.frame import TS_TYPE

ERROR = "error"
WARN = "warn"


@dataclass(frozen=True)
class CheckSpec:
    name: str
    severity: str
    stage: str  # "ingest": judged per file while loading; "validate": across files in the warm store
    interval: bool  # one anomaly per stretch of time rather than per row
    description: str


CATALOGUE: tuple[CheckSpec, ...] = (
    CheckSpec("row_unparseable", ERROR, "ingest", False, "a line no reader could turn into a bar"),
    CheckSpec(
        "price_not_finite_positive",
        ERROR,
        "ingest",
        False,
        "an open/high/low/close missing, infinite, zero or negative",
    ),
    CheckSpec("volume_negative", ERROR, "ingest", False, "volume missing, infinite or below zero"),
    CheckSpec("high_below_open_close", ERROR, "ingest", False, "high below open or close"),
    CheckSpec("low_above_open_close", ERROR, "ingest", False, "low above open or close"),
    CheckSpec("high_below_low", ERROR, "ingest", False, "high below low"),
    CheckSpec("ts_not_minute_aligned", ERROR, "ingest", False, "bar open time not on a whole minute"),
    CheckSpec("ts_implausible", ERROR, "ingest", False, "bar time outside the plausible window (1990 .. now + 1 day)"),
    CheckSpec("price_implausible", ERROR, "ingest", False, "a price beyond the venue's plausible magnitude bounds"),
    CheckSpec("volume_implausible", ERROR, "ingest", False, "volume beyond the venue's plausible magnitude bound"),
    CheckSpec("range_implausible", ERROR, "ingest", False, "high/low ratio within one minute beyond the venue's bound"),
    CheckSpec(
        "duplicate_ts_conflict", ERROR, "ingest", False, "one file holds the same minute twice with different values"
    ),
    CheckSpec(
        "file_error_ratio", ERROR, "ingest", False, "the file's error ratio is above the threshold: quarantined whole"
    ),
    CheckSpec("ts_out_of_order", WARN, "ingest", False, "a bar earlier than a bar above it in the same file"),
    CheckSpec(
        "duplicate_across_files",
        WARN,
        "validate",
        False,
        "two files hold the same minute with different values (the larger file's kept)",
    ),
    CheckSpec("gap", WARN, "validate", True, "minutes the venue's session calendar expects but no file delivered"),
    CheckSpec(
        "outside_session", WARN, "validate", True, "bars at minutes the venue's session calendar says are closed"
    ),
    CheckSpec("spike", WARN, "validate", False, "a 1-minute log return far outside its rolling median/MAD"),
    CheckSpec("stale_run", WARN, "validate", True, "identical closes with zero volume, bar after bar"),
    CheckSpec("zero_volume_run", WARN, "validate", True, "zero volume bar after bar while the price moves"),
    CheckSpec("volume_outlier", WARN, "validate", False, "volume far above the symbol-day's robust centre"),
)
CHECKS: dict[str, CheckSpec] = {c.name: c for c in CATALOGUE}
INTERVAL_CHECKS = tuple(c.name for c in CATALOGUE if c.interval)
VALIDATE_CHECKS = tuple(c.name for c in CATALOGUE if c.stage == "validate")

# What the validate checks return (and, with run columns added, what ``anomalies`` stores).
ANOMALY_SCHEMA: dict[str, pl.DataType] = {
    "venue": pl.String(),
    "symbol": pl.String(),
    "ts": TS_TYPE,
    "end_ts": TS_TYPE,
    "minutes": pl.UInt32(),
    "check": pl.String(),
    "severity": pl.String(),
    "detail": pl.String(),
    "source_id": pl.UInt64(),
    "line": pl.UInt32(),
}


def empty_anomalies() -> pl.DataFrame:
    return pl.DataFrame(schema=ANOMALY_SCHEMA)


def as_anomalies(frame: pl.DataFrame, check: str) -> pl.DataFrame:
    """Shape a check's findings (venue, symbol, ts, end_ts, minutes, detail[, source_id]) into ``ANOMALY_SCHEMA``."""
    spec = CHECKS[check]
    return frame.select(
        pl.col("venue").cast(pl.String),
        pl.col("symbol").cast(pl.String),
        pl.col("ts").cast(TS_TYPE),
        pl.col("end_ts").cast(TS_TYPE) if "end_ts" in frame.columns else pl.col("ts").cast(TS_TYPE).alias("end_ts"),
        pl.col("minutes").cast(pl.UInt32) if "minutes" in frame.columns else pl.lit(1, pl.UInt32).alias("minutes"),
        pl.lit(check).alias("check"),
        pl.lit(spec.severity).alias("severity"),
        pl.col("detail").cast(pl.String),
        pl.col("source_id").cast(pl.UInt64)
        if "source_id" in frame.columns
        else pl.lit(0, pl.UInt64).alias("source_id"),
        pl.lit(0, pl.UInt32).alias("line"),
    )
