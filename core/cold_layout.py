"""Where each cold dataset's files live: a hive layout that polars, pyarrow and DuckDB prune on.

    bars_1m|features_1m/venue=V/symbol=S/date=YYYY-MM-DD/data.parquet                   (daily files)
    bars_5m|bars_15m|bars_1h|bars_4h|bars_1d/venue=V/symbol=S/month=YYYY-MM/data.parquet (monthly files)
Venue, symbol and date/month live in the path only (hive columns), not inside the files.
"""

from __future__ import annotations

from datetime import date

DAILY = ("bars_1m", "features_1m")
MONTHLY = ("bars_5m", "bars_15m", "bars_1h", "bars_4h", "bars_1d")
DATASETS = ("bars_1m", *MONTHLY, "features_1m")
MANIFEST = "_manifest/cache_files.parquet"
STATE = "_manifest/state.json"
SOURCES = "_manifest/source_days.parquet"  # the warm fingerprint each symbol-day was last built from
CATALOG = "catalog.duckdb"


def parse_file_path(relative: str) -> tuple[str, str, str, str] | None:
    """(dataset, venue, symbol, period) of a cold data file path, or None for anything else."""
    parts = relative.split("/")
    if len(parts) != 5 or parts[0] not in DATASETS or parts[4] != "data.parquet":
        return None
    keys = [p.split("=", 1) for p in parts[1:4]]
    if [k[0] for k in keys] != ["venue", "symbol", "date" if parts[0] in DAILY else "month"]:
        return None
    return parts[0], keys[0][1], keys[1][1], keys[2][1]


def file_path(dataset: str, venue: str, symbol: str, period: date) -> str:
    if dataset in DAILY:
        return f"{dataset}/venue={venue}/symbol={symbol}/date={period.isoformat()}/data.parquet"
    if dataset in MONTHLY:
        return f"{dataset}/venue={venue}/symbol={symbol}/month={period.strftime('%Y-%m')}/data.parquet"
    raise ValueError(f"unknown cold dataset {dataset!r}")


def glob_for(dataset: str) -> str:
    return f"{dataset}/*/*/*/data.parquet"
