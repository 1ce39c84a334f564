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


_LATEST_COLUMNS = (
    "open, high, low, close, volume, trades, version, buy_volume, sell_volume, vwap, price_side, bar_source"
)


def symbol_bounds(warehouse: Warehouse, symbols: pl.DataFrame | None = None) -> pl.DataFrame:
    """(id, venue, symbol, last_ms) per symbol, ids 1.. in (venue, symbol) order: what :func:`hot_bars` keys on.

    ``max(ts)`` needs no FINAL: versions of a bar share its key, so the set of times is the same.
    """
    where, params = _scope(symbols)
    frame = warehouse.query_df(
        f"SELECT toString(venue) AS venue, symbol, toUnixTimestamp64Milli(max(ts)) AS last_ms FROM bars_1m "
        f"WHERE {where} GROUP BY venue, symbol",
        params,
    )
    frame = _only(frame, symbols).sort("venue", "symbol")
    return frame.with_row_index("id", offset=1).with_columns(pl.col("id").cast(pl.UInt32))


def _id_of(bounds: pl.DataFrame, params: dict[str, Any]) -> str:
    """A per-row expression giving each bar its symbol's id (0 for a symbol not in ``bounds``).

    One ``transform`` over the symbol strings per venue: a lookup in a small hash table, where joining the
    bars to their symbol's bounds hashes (venue, symbol) for every row and took ~3x the time of the scan.
    """
    branches = []
    for i, ((venue,), part) in enumerate(bounds.partition_by("venue", as_dict=True, maintain_order=True).items()):
        params |= {f"venue{i}": venue, f"symbols{i}": part["symbol"].to_list(), f"ids{i}": part["id"].to_list()}
        branches.append(
            f"venue = {{venue{i}:String}}, transform(symbol, {{symbols{i}:Array(String)}}, {{ids{i}:Array(UInt32)}}, 0)"
        )
    return f"toUInt32(multiIf({', '.join(branches)}, 0))"


def _oldest(bounds: pl.DataFrame) -> int:
    """The oldest symbol's newest time (ms): no row older than it, less a window, is read at all."""
    oldest = bounds.get_column("last_ms").min()
    return oldest if isinstance(oldest, int) else 0


def _named(frame: pl.DataFrame, bounds: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """``frame`` keyed by id, as (venue, symbol, *columns)."""
    return frame.join(bounds.select("id", "venue", "symbol"), on="id", how="inner").select("venue", "symbol", *columns)


def latest_bars(
    warehouse: Warehouse, symbols: pl.DataFrame | None = None, bounds: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The newest bar per symbol (FINAL: its newest version), with every field the hot tier serves.

    Reads only rows at each symbol's own newest time (``bounds`` from :func:`symbol_bounds`, read here when
    not given) instead of folding every row through ``argMax`` of each column.
    """
    bounds = symbol_bounds(warehouse, symbols) if bounds is None else bounds
    columns = ["latest_ts", *(c.strip() for c in _LATEST_COLUMNS.split(","))]
    if bounds.height == 0:
        return warehouse.query_df(
            f"SELECT toString(venue) AS venue, symbol, ts AS latest_ts, {_LATEST_COLUMNS} FROM bars_1m WHERE 0"
        )
    params: dict[str, Any] = {"lasts": bounds["last_ms"].to_list(), "lo": _oldest(bounds)}
    frame = warehouse.query_df(
        f"""
        SELECT {_id_of(bounds, params)} AS id, ts AS latest_ts, {_LATEST_COLUMNS}
        FROM bars_1m FINAL
        WHERE ts >= fromUnixTimestamp64Milli({{lo:Int64}}) AND id > 0
          AND toUnixTimestamp64Milli(ts) = {{lasts:Array(Int64)}}[id]
        """,
        params,
    )
    return _named(frame, bounds, columns)


def recent_bars(
    warehouse: Warehouse, minutes: int, count: int, gap_allowance: int = 4, symbols: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The last ``count`` buckets of ``minutes`` per symbol; ``minutes`` says how many 1m bars made each.

    Buckets are left-closed, labelled by their open time, anchored at UTC midnight; the newest may be
    still filling (its ``minutes`` shows how far). Only bars within ``gap_allowance`` x ``count`` buckets
    of each symbol's own newest bar are read (one bounded scan instead of a per-row window), so a symbol
    with long holes in that span gets fewer buckets, never none.

    The reference for one timeframe: :func:`recent_bars_all` must give exactly what this gives.
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
    bounds: pl.DataFrame | None = None,
) -> dict[str, pl.DataFrame]:
    """:func:`recent_bars` of every timeframe (name -> minutes) from one scan of the warm tier.

    The 1m bars of the widest window (``minutes x (count + 1) x gap_allowance`` of the largest timeframe) are
    read once; each bar is counted in every timeframe whose own window holds it (``ARRAY JOIN`` over the
    timeframes), so each timeframe gets exactly the buckets its own query would have: same window, same
    buckets (minute intervals dividing a day, anchored at UTC midnight), same ``LIMIT n BY``. The buckets are
    aggregated in the engine: the 1d window spans more than a year of 1m bars per symbol, which is not
    something to move into Python.

    Each bar finds its symbol's newest time through :func:`_id_of` (no join), and the groups are keyed by
    integers (symbol id, minutes, bucket): strings are attached to the few result rows afterwards. The windows
    nest (a wider timeframe has a wider window), so a bar's timeframes are a suffix of them, sliced by its age.
    """
    bounds = symbol_bounds(warehouse, symbols) if bounds is None else bounds
    names = sorted(timeframes, key=lambda name: timeframes[name])
    minutes = [timeframes[n] for n in names]
    spans_ms = [m * (count + 1) * gap_allowance * 60_000 for m in minutes]
    columns = ["bucket", "open", "high", "low", "close", "volume", "minutes"]
    if bounds.height == 0:
        empty = recent_bars(warehouse, 1, 0)
        return dict.fromkeys(timeframes, empty)
    params: dict[str, Any] = {
        "lasts": bounds["last_ms"].to_list(),
        "lo": _oldest(bounds) - max(spans_ms),
        "widest": max(spans_ms),
        "tfs": minutes,
        "n": count,
    }
    older = " + ".join(f"(age > {span})" for span in spans_ms)  # how many windows are too narrow for this bar
    frame = warehouse.query_df(
        f"""
        SELECT id, tf, toDateTime64(intDiv(toUnixTimestamp(ts), tf * 60) * tf * 60, 3, 'UTC') AS bucket,
               argMin(open, ts) AS open, max(high) AS high, min(low) AS low, argMax(close, ts) AS close,
               sum(volume) AS volume, count() AS minutes
        FROM (
            SELECT {_id_of(bounds, params)} AS id, ts, {{lasts:Array(Int64)}}[id] - toUnixTimestamp64Milli(ts) AS age,
                   open, high, low, close, volume
            FROM bars_1m FINAL
            WHERE ts >= fromUnixTimestamp64Milli({{lo:Int64}}) AND id > 0 AND age <= {{widest:Int64}}
        )
        ARRAY JOIN arraySlice({{tfs:Array(UInt32)}}, 1 + {older}) AS tf
        GROUP BY id, tf, bucket
        ORDER BY bucket DESC
        LIMIT {{n:UInt32}} BY id, tf
        """,
        params,
    )
    return {
        name: _named(frame.filter(pl.col("tf") == m), bounds, columns) for name, m in zip(names, minutes, strict=True)
    }


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
