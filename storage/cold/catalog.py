"""``catalog.duckdb`` in the cold root: one view per dataset with the Bars contract's column names."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb

from core.cold_layout import CATALOG, DATASETS, glob_for
from core.features import FEATURE_COLUMNS

_BAR_1M = (
    "venue, symbol, ts, open, high, low, close, volume, trades, quote_volume, "
    "buy_volume, sell_volume, vwap, price_side, bar_source"
)
_BAR_RESAMPLED = "venue, symbol, ts, open, high, low, close, volume, vwap, minutes, trades"


def refresh_catalog(root: Path) -> list[str]:
    """(Re)create the views over the datasets that have files; returns the view names.

    The catalog is written as a new file beside the old one and renamed into place: a researcher holding
    ``catalog.duckdb`` open (even read-only, which takes a lock) keeps reading the old file undisturbed, and
    the build never fails with "Could not set lock". The next connection opens the new one.
    """
    created: list[str] = []
    final = root / CATALOG
    tmp = root / f".tmp-{CATALOG}.{uuid.uuid4().hex}"
    try:
        _write_views(tmp, root, created)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    return created


def _write_views(path: Path, root: Path, created: list[str]) -> None:
    connection = duckdb.connect(str(path))
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
            columns += ", month"  # the hive key (YYYY-MM), for partition pruning; ts filters skip day row groups
            source = str(root / glob_for(dataset)).replace("'", "''")
            connection.execute(
                f"CREATE OR REPLACE VIEW {dataset} AS SELECT {columns} "
                f"FROM read_parquet('{source}', hive_partitioning = true, union_by_name = true)"
            )
            created.append(dataset)
    finally:
        connection.close()
