"""Where each cold dataset's files live: a hive layout that polars, pyarrow and DuckDB prune on.

    <dataset>/venue=V/symbol=S/month=YYYY-MM/data.parquet     (one file per symbol-month, every dataset)

Venue, symbol and month live in the path only (hive columns), not inside the files. The 1m datasets
(``bars_1m``, ``features_1m``) hold one row group per UTC day, so a reader filtering on ``ts`` skips whole
days by their statistics, and the manifest records each day's rows. A file per symbol-month, not per
symbol-day: a day of 1m bars is ~1,500 rows, and a file that small costs more to write than its rows do.

The first layout (``date=YYYY-MM-DD`` daily files for the 1m datasets) is recognised by :func:`is_legacy_path`;
a build that finds it rebuilds everything in this layout and removes the old files.
"""

from __future__ import annotations

from datetime import date

import polars as pl

DAY_GROUPED = ("bars_1m", "features_1m")  # one row group per UTC day
MONTHLY = ("bars_5m", "bars_15m", "bars_1h", "bars_4h", "bars_1d")
DATASETS = ("bars_1m", *MONTHLY, "features_1m")
MANIFEST = "_manifest/cache_files.parquet"
STATE = "_manifest/state.json"
SOURCES = "_manifest/source_days.parquet"  # the warm fingerprint each symbol-day was last built from
CATALOG = "catalog.duckdb"
LEGACY_GLOB = "*/*/*/date=*/data.parquet"  # the daily files of the first layout
# What the warm tier holds per symbol-day and what each cold day was built from (``_manifest/source_days``).
FINGERPRINT_SCHEMA = {"venue": pl.String, "symbol": pl.String, "day": pl.Date, "rows": pl.UInt64, "hash": pl.UInt64}


def parse_file_path(relative: str) -> tuple[str, str, str, str] | None:
    """(dataset, venue, symbol, YYYY-MM) of a cold data file path, or None for anything else."""
    parts = relative.split("/")
    if len(parts) != 5 or parts[0] not in DATASETS or parts[4] != "data.parquet":
        return None
    keys = [p.split("=", 1) for p in parts[1:4]]
    if [k[0] for k in keys] != ["venue", "symbol", "month"]:
        return None
    return parts[0], keys[0][1], keys[1][1], keys[2][1]


def is_legacy_path(relative: str) -> bool:
    """A daily file of the first layout (``<dataset>/venue=V/symbol=S/date=YYYY-MM-DD/data.parquet``)."""
    parts = relative.split("/")
    return len(parts) == 5 and parts[0] in DATASETS and parts[3].startswith("date=") and parts[4] == "data.parquet"


def file_path(dataset: str, venue: str, symbol: str, month: date) -> str:
    """The file of one symbol-month (``month``: any day of it)."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown cold dataset {dataset!r}")
    return f"{dataset}/venue={venue}/symbol={symbol}/month={month.strftime('%Y-%m')}/data.parquet"


def glob_for(dataset: str) -> str:
    return f"{dataset}/*/*/month=*/data.parquet"
