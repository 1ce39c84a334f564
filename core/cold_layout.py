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


def file_path(dataset: str, venue: str, symbol: str, period: date) -> str:
    if dataset in DAILY:
        return f"{dataset}/venue={venue}/symbol={symbol}/date={period.isoformat()}/data.parquet"
    if dataset in MONTHLY:
        return f"{dataset}/venue={venue}/symbol={symbol}/month={period.strftime('%Y-%m')}/data.parquet"
    raise ValueError(f"unknown cold dataset {dataset!r}")


def glob_for(dataset: str) -> str:
    return f"{dataset}/*/*/*/data.parquet"
