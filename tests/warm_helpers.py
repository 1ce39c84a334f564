"""Helpers shared by the warm-tier tests (backups, maintenance): one symbol's bars inserted as a batch would be,
and a snapshot taken the way the backup flow takes it."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from storage.backups import snapshots as backups
from storage.backups.target import BackupTarget
from storage.warm.base import Warehouse
from validation.contracts import BARS_COLUMNS

BAR_TYPES: dict[str, pl.DataType] = {
    "ts": pl.Datetime("ms", "UTC"),
    "trades": pl.UInt32(),
    "source_id": pl.UInt64(),
    "version": pl.UInt64(),
}


def bars_frame(columns: dict[str, object]) -> pl.DataFrame:
    """``bars_1m`` rows from plain columns (lists or scalars broadcast): the warm tier's types, its column order."""
    return pl.DataFrame(columns, schema_overrides=BAR_TYPES).select(BARS_COLUMNS)


def insert_bars(wh: Warehouse, start: datetime, n: int, version: int, close: float = 10.0) -> None:
    """``n`` 1m bars of binance BTCUSDT from ``start``, all at ``close``, committed with ``version``."""
    frame = bars_frame(
        {
            "venue": "binance",
            "symbol": "BTCUSDT",
            "ts": [start + timedelta(minutes=i) for i in range(n)],
            "open": close,
            "high": close + 1,
            "low": close - 1,
            "close": close,
            "volume": 1.0,
            "trades": 1,
            "quote_volume": 1.0,
            "source_id": 1,
            "version": version,
        }
    )
    wh.insert_df("bars_1m", frame)


def verified_snapshot(wh: Warehouse, target: BackupTarget, now: datetime, **kwargs: object) -> backups.SnapshotResult:
    """A snapshot and its restore drill, as the backup flow takes them (only a verified one can be a base)."""
    taken = backups.take_snapshot(wh, target, now, **kwargs)  # type: ignore[arg-type]
    ok, detail = backups.drill(wh, target, taken.name)
    assert ok, detail
    return taken
