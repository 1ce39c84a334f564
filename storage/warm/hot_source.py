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
               argMax(volume, ts) AS volume, argMax(trades, ts) AS trades, argMax(version, ts) AS version,
               argMax(buy_volume, ts) AS buy_volume, argMax(sell_volume, ts) AS sell_volume, argMax(vwap, ts) AS vwap,
               argMax(price_side, ts) AS price_side, argMax(bar_source, ts) AS bar_source
        FROM bars_1m FINAL
        GROUP BY venue, symbol
        """
    )


def recent_bars(warehouse: Warehouse, minutes: int, count: int, gap_allowance: int = 4) -> pl.DataFrame:
    """The last ``count`` buckets of ``minutes`` per symbol; ``minutes`` says how many 1m bars made each.

    Buckets are left-closed, labelled by their open time, anchored at UTC midnight; the newest may be
    still filling (its ``minutes`` shows how far). Only bars within ``gap_allowance`` x ``count`` buckets
    of each symbol's own newest bar are read (one bounded scan instead of a per-row window), so a symbol
    with long holes in that span gets fewer buckets, never none.
    """
    return warehouse.query_df(
        """
        SELECT b.venue AS venue, b.symbol AS symbol,
               toDateTime64(toStartOfInterval(b.ts, toIntervalMinute({m:UInt32})), 3, 'UTC') AS bucket,
               argMin(b.open, b.ts) AS open, max(b.high) AS high, min(b.low) AS low, argMax(b.close, b.ts) AS close,
               sum(b.volume) AS volume, count() AS minutes
        FROM bars_1m AS b FINAL
        INNER JOIN (SELECT venue, symbol, max(ts) AS last_ts FROM bars_1m GROUP BY venue, symbol) AS l
            ON b.venue = l.venue AND b.symbol = l.symbol
        WHERE b.ts >= l.last_ts - toIntervalMinute({span:UInt32})
        GROUP BY venue, symbol, bucket
        ORDER BY bucket DESC
        LIMIT {n:UInt32} BY venue, symbol
        """,
        {"m": minutes, "n": count, "span": minutes * (count + 1) * gap_allowance},
    )
