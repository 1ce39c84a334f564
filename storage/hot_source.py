"""What the hot tier serves, read from the warm tier with FINAL semantics (newest version per key)."""

from __future__ import annotations

import polars as pl

from storage.warm.base import Warehouse


def source_version(warehouse: Warehouse) -> dict[str, int]:
    """Changes whenever bars are inserted: the newest version stamp and the raw row count."""
    row = warehouse.query_df("SELECT max(version) AS version, count() AS rows FROM bars_1m").row(0, named=True)
    return {"version": int(row["version"] or 0), "rows": int(row["rows"] or 0)}


def latest_bars(warehouse: Warehouse) -> pl.DataFrame:
    return warehouse.query_df(
        """
        SELECT venue, symbol, max(ts) AS latest_ts,
               argMax(open, ts) AS open, argMax(high, ts) AS high, argMax(low, ts) AS low, argMax(close, ts) AS close,
               argMax(volume, ts) AS volume, argMax(trades, ts) AS trades, argMax(version, ts) AS version
        FROM bars_1m FINAL
        GROUP BY venue, symbol
        """
    )


def recent_bars(warehouse: Warehouse, minutes: int, count: int) -> pl.DataFrame:
    """The last ``count`` buckets of ``minutes`` per symbol; ``minutes`` says how many 1m bars made each.

    Buckets are left-closed, labelled by their open time, anchored at UTC midnight; the newest may be
    still filling (its ``minutes`` shows how far).
    """
    return warehouse.query_df(
        """
        SELECT venue, symbol, toDateTime64(toStartOfInterval(ts, toIntervalMinute({m:UInt32})), 3, 'UTC') AS bucket,
               argMin(open, ts) AS open, max(high) AS high, min(low) AS low, argMax(close, ts) AS close,
               sum(volume) AS volume, count() AS minutes
        FROM bars_1m FINAL
        WHERE (venue, symbol, ts) IN (
            SELECT venue, symbol, ts FROM bars_1m FINAL ORDER BY ts DESC LIMIT {window:UInt32} BY venue, symbol
        )
        GROUP BY venue, symbol, bucket
        ORDER BY bucket DESC
        LIMIT {n:UInt32} BY venue, symbol
        """,
        {"m": minutes, "n": count, "window": minutes * (count + 1)},
    )
