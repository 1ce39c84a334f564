"""Trade files in the warm tier: minute partials, quarantined trades, and the bars derived from them.

Exact split minutes: each file's per-minute partial aggregates are kept in ``trade_minutes`` (one row
per venue x symbol x side x minute x file path; a newer version of the same file replaces its rows).
After a batch's partials are in, every minute it touched is re-derived from *all* partials of that
minute in the table and written to ``bars_1m`` with a version taken after that read. Whichever file
of a split minute lands last, its derivation sees every part, and its bar carries the newest version.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import polars as pl

from core.fingerprint import batch_token
from core.trades.aggregate import KEYS, PARTIAL_SCHEMA, merge_partials, partials_to_bars
from storage.warm.base import Warehouse

_PARTIALS_SQL = f"""
SELECT {", ".join(PARTIAL_SCHEMA)} FROM trade_minutes FINAL
WHERE venue = {{v:String}} AND symbol = {{s:String}} AND price_side = {{p:String}}
  AND ts >= {{a:DateTime64(3, 'UTC')}} AND ts <= {{b:DateTime64(3, 'UTC')}}
"""


def minute_partials_of(warehouse: Warehouse, touched: pl.DataFrame) -> pl.DataFrame:
    """Every stored partial of the (venue, symbol, side, minute) keys in ``touched``."""
    parts = []
    spans = touched.group_by("venue", "symbol", "price_side").agg(
        pl.col("ts").min().alias("a"), pl.col("ts").max().alias("b")
    )
    for venue, symbol, side, start, end in spans.iter_rows():
        stored = warehouse.query_df(_PARTIALS_SQL, {"v": venue, "s": symbol, "p": side, "a": start, "b": end})
        parts.append(stored.select([pl.col(n).cast(t) for n, t in PARTIAL_SCHEMA.items()]))
    if not parts:
        return pl.DataFrame(schema=PARTIAL_SCHEMA)
    return pl.concat(parts, how="vertical").join(touched.select(KEYS).unique(), on=KEYS, how="semi")


def write_trade_batch(
    warehouse: Warehouse,
    members: list[tuple[str, str]],
    partials: pl.DataFrame,
    quarantine: pl.DataFrame,
    anomalies: pl.DataFrame,
    manifest: pl.DataFrame,
    version: int,
    check_bars: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    replay_of: str | None = None,
) -> pl.DataFrame:
    """Write a judged batch of trade files (data first, manifest last) and return the bars written.

    ``check_bars`` (the Bars contract) judges the derived bars before they are inserted. A replay
    (``replay_of`` = its run id) salts the tokens and first deletes the files' earlier quarantined trades
    and ingest anomalies, as the bar path does.
    """
    salt = f":replay:{replay_of}" if replay_of else ""
    if replay_of:
        ids = manifest["source_id"].to_list()
        warehouse.delete("quarantine_trades", "source_id IN {ids:Array(UInt64)}", {"ids": ids})
        warehouse.delete("anomalies", "origin = 'ingest' AND source_id IN {ids:Array(UInt64)}", {"ids": ids})
    warehouse.insert_df("quarantine_trades", quarantine, batch_token(members, "quarantine_trades" + salt))
    warehouse.insert_df("anomalies", anomalies, batch_token(members, "anomalies:trades" + salt))
    warehouse.insert_df(
        "trade_minutes",
        partials.with_columns(pl.lit(version, pl.UInt64).alias("version")),
        batch_token(members, "trade_minutes" + salt),
    )
    bars = pl.DataFrame()
    if partials.height:
        stored = minute_partials_of(warehouse, partials.select(KEYS).unique())
        bars = partials_to_bars(merge_partials(stored), time.time_ns() // 1000)  # version after the read
        if check_bars is not None:
            bars = check_bars(bars)
        warehouse.insert_df("bars_1m", bars, batch_token(members, "bars_1m:trades" + salt))
    warehouse.insert_df("ingest_files", manifest, batch_token(members, "ingest_files:trades" + salt))
    return bars
