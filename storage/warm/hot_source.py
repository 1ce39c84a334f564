"""What the hot tier serves, read from the warm tier with FINAL semantics (newest version per key).

Every reader takes an optional ``symbols`` frame (venue, symbol): the incremental update after an
ingest reads only the symbols that ingest touched.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from storage.warm.base import Warehouse

_IN = "{a}venue IN {{venues:Array(String)}} AND {a}symbol IN {{symbols:Array(String)}}"


def _scope(symbols: pl.DataFrame | None, alias: str = "") -> tuple[str, dict[str, Any]]:
    """A WHERE condition limiting a query to ``symbols`` (IN-lists; callers drop cross pairs afterwards)."""
    if symbols is None:
        return "1", {}
    pairs = {"venues": sorted(set(symbols["venue"].to_list())), "symbols": sorted(set(symbols["symbol"].to_list()))}
    return _IN.format(a=alias), pairs


def _only(frame: pl.DataFrame, symbols: pl.DataFrame | None) -> pl.DataFrame:
    if symbols is None:
        return frame
    return frame.join(symbols.select("venue", "symbol").unique(), on=["venue", "symbol"], how="semi")


def source_version(warehouse: Warehouse) -> dict[str, int]:
    """Changes whenever bars are inserted: the newest version stamp and the raw row count."""
    row = warehouse.query_df("SELECT max(version) AS version, count() AS rows FROM bars_1m").row(0, named=True)
    return {"version": int(row["version"] or 0), "rows": int(row["rows"] or 0)}


def newest_bar_times(warehouse: Warehouse, symbols: pl.DataFrame | None = None) -> pl.DataFrame:
    """(venue, symbol, last_ts) per symbol: what the hot tier's latest bar must match."""
    where, params = _scope(symbols)
    frame = warehouse.query_df(
        f"SELECT toString(venue) AS venue, symbol, max(ts) AS last_ts FROM bars_1m WHERE {where} "
        "GROUP BY venue, symbol",
        params,
    )
    return _only(frame, symbols).sort("venue", "symbol")


def latest_bars(warehouse: Warehouse, symbols: pl.DataFrame | None = None) -> pl.DataFrame:
    where, params = _scope(symbols)
    frame = warehouse.query_df(
        f"""
        SELECT toString(venue) AS venue, symbol, max(ts) AS latest_ts,
               argMax(open, ts) AS open, argMax(high, ts) AS high, argMax(low, ts) AS low, argMax(close, ts) AS close,
               argMax(volume, ts) AS volume, argMax(trades, ts) AS trades, argMax(version, ts) AS version,
               argMax(buy_volume, ts) AS buy_volume, argMax(sell_volume, ts) AS sell_volume, argMax(vwap, ts) AS vwap,
               argMax(price_side, ts) AS price_side, argMax(bar_source, ts) AS bar_source
        FROM bars_1m FINAL
        WHERE {where}
        GROUP BY venue, symbol
        """,
        params,
    )
    return _only(frame, symbols)


def recent_bars(
    warehouse: Warehouse, minutes: int, count: int, gap_allowance: int = 4, symbols: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The last ``count`` buckets of ``minutes`` per symbol; ``minutes`` says how many 1m bars made each.

    Buckets are left-closed, labelled by their open time, anchored at UTC midnight; the newest may be
    still filling (its ``minutes`` shows how far). Only bars within ``gap_allowance`` x ``count`` buckets
    of each symbol's own newest bar are read (one bounded scan instead of a per-row window), so a symbol
    with long holes in that span gets fewer buckets, never none.
    """
    outer, params = _scope(symbols, "b.")
    inner, _ = _scope(symbols)
    frame = warehouse.query_df(
        f"""
        SELECT toString(b.venue) AS venue, b.symbol AS symbol,
               toDateTime64(toStartOfInterval(b.ts, toIntervalMinute({{m:UInt32}})), 3, 'UTC') AS bucket,
               argMin(b.open, b.ts) AS open, max(b.high) AS high, min(b.low) AS low, argMax(b.close, b.ts) AS close,
               sum(b.volume) AS volume, count() AS minutes
        FROM bars_1m AS b FINAL
        INNER JOIN (SELECT venue, symbol, max(ts) AS last_ts FROM bars_1m WHERE {inner} GROUP BY venue, symbol) AS l
            ON b.venue = l.venue AND b.symbol = l.symbol
        WHERE b.ts >= l.last_ts - toIntervalMinute({{span:UInt32}}) AND {outer}
        GROUP BY venue, symbol, bucket
        ORDER BY bucket DESC
        LIMIT {{n:UInt32}} BY venue, symbol
        """,
        {"m": minutes, "n": count, "span": minutes * (count + 1) * gap_allowance, **params},
    )
    return _only(frame, symbols)


def recent_bars_all(
    warehouse: Warehouse,
    timeframes: dict[str, int],
    count: int,
    gap_allowance: int = 4,
    symbols: pl.DataFrame | None = None,
) -> dict[str, pl.DataFrame]:
    """:func:`recent_bars` of every timeframe (name -> minutes) from one scan of the warm tier.

    The 1m bars of the widest window (``minutes x (count + 1) x gap_allowance`` of the largest timeframe) are
    read once; each bar is counted in every timeframe whose own window holds it (``ARRAY JOIN`` over the
    timeframes), so each timeframe gets exactly the buckets its own query would have: same window, same
    buckets (minute intervals dividing a day, anchored at UTC midnight), same ``LIMIT n BY``. The buckets are
    aggregated in the engine: the 1d window spans more than a year of 1m bars per symbol, which is not
    something to move into Python.
    """
    outer, params = _scope(symbols, "b.")
    inner, _ = _scope(symbols)
    names = list(timeframes)
    minutes = [timeframes[n] for n in names]
    spans = [m * (count + 1) * gap_allowance for m in minutes]
    frame = warehouse.query_df(
        f"""
        SELECT toString(b.venue) AS venue, b.symbol AS symbol, tf,
               toDateTime64(intDiv(toUnixTimestamp(b.ts), tf * 60) * tf * 60, 3, 'UTC') AS bucket,
               argMin(b.open, b.ts) AS open, max(b.high) AS high, min(b.low) AS low, argMax(b.close, b.ts) AS close,
               sum(b.volume) AS volume, count() AS minutes
        FROM bars_1m AS b FINAL
        INNER JOIN (SELECT venue, symbol, max(ts) AS last_ts FROM bars_1m WHERE {inner} GROUP BY venue, symbol) AS l
            ON b.venue = l.venue AND b.symbol = l.symbol
        ARRAY JOIN arrayFilter(
            (m, s) -> toUnixTimestamp64Milli(b.ts) >= toUnixTimestamp64Milli(l.last_ts) - toInt64(s) * 60000,
            {{tfs:Array(UInt32)}}, {{spans:Array(UInt32)}}
        ) AS tf
        WHERE b.ts >= l.last_ts - toIntervalMinute({{widest:UInt32}}) AND {outer}
        GROUP BY venue, symbol, tf, bucket
        ORDER BY bucket DESC
        LIMIT {{n:UInt32}} BY venue, symbol, tf
        """,
        {"tfs": minutes, "spans": spans, "widest": max(spans), "n": count, **params},
    )
    frame = _only(frame, symbols)
    return {name: frame.filter(pl.col("tf") == m).drop("tf") for name, m in zip(names, minutes, strict=True)}


def symbols_loaded_by(warehouse: Warehouse, run_id: str) -> pl.DataFrame:
    """(venue, symbol) of every file the run ``run_id`` loaded rows from: the hot keys that run changed."""
    return warehouse.query_df(
        """
        SELECT DISTINCT venue, symbol FROM (
            SELECT toString(venue) AS venue, symbol FROM ingest_files FINAL
            WHERE run_id = {run:String} AND rows_loaded > 0
            UNION ALL  -- a trade/quote file can make bars of several symbols (quote sides, multi-symbol dumps)
            SELECT toString(venue) AS venue, symbol FROM trade_minutes
            WHERE source_id IN (
                SELECT source_id FROM ingest_files FINAL WHERE run_id = {run:String} AND rows_loaded > 0
            )
        )
        ORDER BY venue, symbol
        """,
        {"run": run_id},
    )
