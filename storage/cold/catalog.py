"""``catalog.duckdb`` in the cold root: one view per dataset with the Bars contract's column names."""

from __future__ import annotations

from pathlib import Path

import duckdb

from core.cold_layout import DAILY, DATASETS, glob_for
from core.features import FEATURE_COLUMNS

_BAR_1M = "venue, symbol, ts, open, high, low, close, volume, trades, quote_volume"
_BAR_RESAMPLED = "venue, symbol, ts, open, high, low, close, volume, vwap, minutes, trades"


def refresh_catalog(root: Path) -> list[str]:
    """(Re)create the views over the datasets that have files; returns the view names."""
    created = []
    connection = duckdb.connect(str(root / "catalog.duckdb"))
    try:
        for dataset in DATASETS:
            if not any(root.glob(glob_for(dataset))):
                continue
            columns = (
                _BAR_1M
                if dataset == "bars_1m"
                else (
                    "venue, symbol, ts, " + ", ".join(FEATURE_COLUMNS) if dataset == "features_1m" else _BAR_RESAMPLED
                )
            )
            columns += ", date" if dataset in DAILY else ", month"  # the hive key, for partition pruning
            source = str(root / glob_for(dataset)).replace("'", "''")
            connection.execute(
                f"CREATE OR REPLACE VIEW {dataset} AS SELECT {columns} "
                f"FROM read_parquet('{source}', hive_partitioning = true, union_by_name = true)"
            )
            created.append(dataset)
    finally:
        connection.close()
    return created
