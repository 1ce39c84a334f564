"""Reads from the warm tier that cache builds need: what changed, and the bars of a range."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from storage.warm.base import Warehouse

# The columns of a cold 1m file, hashed per row and summed per symbol-day (order-independent, and two equal
# rows do not cancel out as they would under xor).
_DAY_HASH = "sum(cityHash64(ts, open, high, low, close, volume, trades, quote_volume))"


def day_fingerprints(warehouse: Warehouse, since: datetime | None = None) -> pl.DataFrame:
    """(venue, symbol, day, rows, hash) of what the warm tier holds now (newest version per minute).

    What a cold build was made from is recorded as these fingerprints, so the next build rebuilds every day
    whose content differs, whenever and in whatever order the batches that changed it committed: a batch
    that started early and committed late is caught, unlike with a ``version`` watermark.
    """
    return warehouse.query_df(
        f"""
        SELECT venue, symbol, toDate(ts) AS day, count() AS rows, {_DAY_HASH} AS hash FROM bars_1m FINAL
        WHERE ts >= {{since:DateTime64(3, 'UTC')}}
        GROUP BY venue, symbol, day ORDER BY venue, symbol, day
        """,
        {"since": since or datetime(1970, 1, 1)},
    ).cast({"rows": pl.UInt64, "hash": pl.UInt64})


def max_version(warehouse: Warehouse) -> int:
    return int(warehouse.query_scalar("SELECT max(version) FROM bars_1m") or 0)


def changed_days(warehouse: Warehouse, after_version: int, since: datetime | None = None) -> pl.DataFrame:
    """(venue, symbol, day) touched by inserts newer than ``after_version`` (0: every day), from ``since`` on."""
    return warehouse.query_df(
        """
        SELECT DISTINCT venue, symbol, toDate(ts) AS day FROM bars_1m
        WHERE version > {v:UInt64} AND ts >= {since:DateTime64(3, 'UTC')}
        ORDER BY venue, symbol, day
        """,
        {"v": after_version, "since": since or datetime(1970, 1, 1)},
    )


def symbol_days(warehouse: Warehouse, venue: str, symbol: str) -> list[date]:
    frame = warehouse.query_df(
        "SELECT DISTINCT toDate(ts) AS day FROM bars_1m WHERE venue = {v:String} AND symbol = {s:String} ORDER BY day",
        {"v": venue, "s": symbol},
    )
    return frame.get_column("day").to_list() if frame.height else []


def all_symbol_days(warehouse: Warehouse) -> pl.DataFrame:
    """(venue, symbol, day) of every day the warm tier holds bars for (no FINAL: versions never remove a day)."""
    return warehouse.query_df(
        "SELECT DISTINCT venue, symbol, toDate(ts) AS day FROM bars_1m ORDER BY venue, symbol, day"
    )


def bars_between(warehouse: Warehouse, venue: str, symbol: str, start: datetime, end: datetime) -> pl.DataFrame:
    """1m bars of one symbol in [start, end), newest version per minute (FINAL), in time order.

    ``venue`` and ``symbol`` are the ones asked for, added here as constant columns: sending them from the
    engine with every row made the query ~1.5x slower (a string per row and column to encode and decode)."""
    frame = warehouse.query_df(
        """
        SELECT ts, open, high, low, close, volume, trades, quote_volume,
               buy_volume, sell_volume, vwap, price_side, bar_source FROM bars_1m FINAL
        WHERE venue = {v:String} AND symbol = {s:String}
          AND ts >= {a:DateTime64(3, 'UTC')} AND ts < {b:DateTime64(3, 'UTC')}
        ORDER BY ts
        """,
        {"v": venue, "s": symbol, "a": start, "b": end},
    )
    if frame.width == 0:  # no result set at all: nothing to label
        return frame
    identity = [pl.lit(venue, pl.String).alias("venue"), pl.lit(symbol, pl.String).alias("symbol")]
    return frame.select(*identity, pl.all())


def lookback_start(warehouse: Warehouse, venue: str, symbol: str, before: datetime, bars: int) -> datetime | None:
    """The time ``bars`` 1m bars before ``before`` (the start of a feature lookback), or None."""
    start: datetime | None = warehouse.query_scalar(
        """
        SELECT min(ts) FROM (
            SELECT ts FROM bars_1m FINAL
            WHERE venue = {v:String} AND symbol = {s:String} AND ts < {b:DateTime64(3, 'UTC')}
            ORDER BY ts DESC LIMIT {n:UInt32}
        )
        """,
        {"v": venue, "s": symbol, "b": before, "n": bars},
    )
    return start
