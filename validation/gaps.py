"""Gaps and off-session bars against a session calendar's minute grid.

Each bar is placed on the grid of expected minutes (a binary search, column-wise). Between two
consecutive bars of a symbol, the grid positions they skip are one missing interval, reported once
with its first and last missing minute and how many minutes are missing: a 61-minute exchange halt
is one anomaly, not 61, and an equity close-to-open night is no gap at all because the grid has no
minutes there. Bars that land off the grid are reported as runs of ``outside_session``.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from core.formats.frame import TS_TYPE
from validation.blocks import block_ids, block_keys
from validation.catalogue import as_anomalies, empty_anomalies

_FMT = "%Y-%m-%d %H:%M"


def grid_positions(grid: pl.Series, ts: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Position of each ts on the grid, and whether the ts is a grid minute.

    A grid without holes (crypto: every minute) is arithmetic; others take a binary search.
    """
    if grid.len() == 0:
        return pl.zeros(ts.len(), pl.Int64, eager=True).alias("p"), pl.repeat(False, ts.len(), eager=True).alias("on")
    first, last = grid[0], grid[-1]
    minutes = ts.cast(TS_TYPE).dt.epoch("ms")
    if (last - first) // timedelta(minutes=1) + 1 == grid.len():
        offset = minutes - int(first.timestamp() * 1000)
        on_grid = (offset % 60_000 == 0) & (offset >= 0) & (offset < grid.len() * 60_000)
        pos = (offset // 60_000).clip(0, grid.len())
        return pos.alias("p"), on_grid.fill_null(False).alias("on")
    pos = grid.search_sorted(ts, side="left").cast(pl.Int64)
    at = grid.gather(pos.clip(0, grid.len() - 1))
    return pos.alias("p"), ((pos < grid.len()) & (at == ts)).fill_null(False).alias("on")


def find_gaps(
    bars: pl.DataFrame,
    grid: pl.Series,
    windows: pl.DataFrame,
    min_minutes: int = 1,
    placed: tuple[pl.Series, pl.Series] | None = None,
    blocks: pl.Series | None = None,
) -> pl.DataFrame:
    """Missing intervals of each symbol inside its window.

    ``bars``: venue, symbol, ts, sorted by them. ``grid``: sorted expected minutes covering every window.
    ``windows``: venue, symbol, start, end — where bars are expected ([start, end)); a symbol with a
    window and no bars at all is one gap over the whole window. ``placed`` (:func:`grid_positions`) and
    ``blocks`` (:func:`validation.blocks.block_ids`) are taken when the caller has them already.
    """
    if grid.len() == 0 or windows.height == 0:
        return empty_anomalies()
    grid = grid.cast(TS_TYPE)
    keys = ["venue", "symbol"]
    w = windows.select(
        *keys,
        grid.search_sorted(windows["start"].cast(TS_TYPE), side="left").cast(pl.Int64).alias("ws"),
        grid.search_sorted(windows["end"].cast(TS_TYPE), side="left").cast(pl.Int64).alias("we"),
    ).filter(pl.col("we") > pl.col("ws"))
    pos, on_grid = placed or grid_positions(grid, bars["ts"].cast(TS_TYPE))
    # Symbols are contiguous blocks of the sorted frame: number them, look their window up once per
    # block (a small join) and broadcast it by block number — a join on the string keys of every row
    # would cost ten times the rest of the check.
    ids = blocks if blocks is not None else block_ids(bars)
    named = block_keys(bars, ids).join(w, on=keys, how="left").sort("b")
    rows = (
        pl.DataFrame({"b": ids, "p": pos}).filter(on_grid).with_columns(pl.col("b").set_sorted())
    )  # sorted frame: blocks rise
    rows = rows.with_columns(ws=named["ws"].gather(rows["b"]), we=named["we"].gather(rows["b"]))
    rows = rows.filter(pl.col("ws").is_not_null() & (pl.col("p") >= pl.col("ws")) & (pl.col("p") < pl.col("we")))
    inner = rows.with_columns(prev=pl.when(pl.col("b") == pl.col("b").shift()).then(pl.col("p").shift())).filter(
        pl.col("p") - pl.col("prev") > 1
    )
    ends = rows.group_by("b").agg(
        pl.col("p").min().alias("lo"), pl.col("p").max().alias("hi"), pl.col("ws").first(), pl.col("we").first()
    )
    holes = (
        pl.concat(
            [
                inner.select("b", (pl.col("prev") + 1).alias("g0"), (pl.col("p") - 1).alias("g1")),
                ends.filter(pl.col("lo") > pl.col("ws")).select(
                    "b", pl.col("ws").alias("g0"), (pl.col("lo") - 1).alias("g1")
                ),
                ends.filter(pl.col("hi") < pl.col("we") - 1).select(
                    "b", (pl.col("hi") + 1).alias("g0"), (pl.col("we") - 1).alias("g1")
                ),
            ]
        )
        .join(named.select("b", *keys), on="b", how="left")
        .drop("b")
    )
    # Windows without a single bar inside are one gap over the whole window.
    seen = rows.select("b").unique().join(named.select("b", *keys), on="b").select(keys)
    empty = w.join(seen, on=keys, how="anti").select(*keys, pl.col("ws").alias("g0"), (pl.col("we") - 1).alias("g1"))
    holes = pl.concat([holes.select(*keys, "g0", "g1"), empty]).with_columns(minutes=pl.col("g1") - pl.col("g0") + 1)
    holes = holes.filter(pl.col("minutes") >= min_minutes)
    if holes.height == 0:
        return empty_anomalies()
    found = holes.with_columns(ts=grid.gather(holes["g0"]), end_ts=grid.gather(holes["g1"])).sort(*keys, "ts")
    found = found.with_columns(
        detail=pl.format(
            "{} expected minutes missing: {} .. {} UTC",
            "minutes",
            pl.col("ts").dt.strftime(_FMT),
            pl.col("end_ts").dt.strftime(_FMT),
        )
    )
    return as_anomalies(found, "gap")


def find_outside_session(
    bars: pl.DataFrame, grid: pl.Series, session: str, placed: tuple[pl.Series, pl.Series] | None = None
) -> pl.DataFrame:
    """Runs of bars at minutes the calendar says are closed (e.g. a 16:00 print after an equity close)."""
    if bars.height == 0:
        return empty_anomalies()
    _, on_grid = placed or grid_positions(grid.cast(TS_TYPE), bars["ts"].cast(TS_TYPE))
    off = bars.select("venue", "symbol", "ts").filter(~on_grid).sort("venue", "symbol", "ts")
    if off.height == 0:
        return empty_anomalies()
    same = (pl.col("venue") == pl.col("venue").shift()) & (pl.col("symbol") == pl.col("symbol").shift())
    step = (pl.col("ts") - pl.col("ts").shift()) == pl.duration(minutes=1)
    runs = off.with_columns(run=(~(same & step).fill_null(False)).cum_sum())
    found = runs.group_by("run").agg(
        pl.col("venue").first(),
        pl.col("symbol").first(),
        pl.col("ts").min().alias("ts"),
        pl.col("ts").max().alias("end_ts"),
        pl.len().alias("minutes"),
    )
    found = found.with_columns(
        detail=pl.format(
            "{} bars outside the {} session: {} .. {} UTC",
            "minutes",
            pl.lit(session),
            pl.col("ts").dt.strftime(_FMT),
            pl.col("end_ts").dt.strftime(_FMT),
        )
    )
    return as_anomalies(found.sort("venue", "symbol", "ts"), "outside_session")


def discount_quarantined(gaps: pl.DataFrame, quarantined: pl.DataFrame) -> pl.DataFrame:
    """Gaps minus the minutes a file did deliver but quarantine holds (venue, symbol, ts).

    A broken row already counts as an error; reporting its minute as missing too would count it
    twice. A gap made only of quarantined minutes is dropped; a longer one says how many it holds.
    """
    if gaps.height == 0 or quarantined.height == 0:
        return gaps
    held = (
        gaps.with_row_index("_g")
        .select("_g", "venue", "symbol", "ts", "end_ts")
        .join(quarantined.select("venue", "symbol", pl.col("ts").alias("_q")).unique(), on=["venue", "symbol"])
        .filter(pl.col("_q").is_between(pl.col("ts"), pl.col("end_ts")))
        .group_by("_g")
        .len("_held")
    )
    out = gaps.with_row_index("_g").join(held, on="_g", how="left").with_columns(pl.col("_held").fill_null(0))
    out = out.filter(pl.col("minutes").cast(pl.Int64) > pl.col("_held")).with_columns(
        detail=pl.when(pl.col("_held") > 0)
        .then(pl.format("{} ({} of them delivered but quarantined)", "detail", "_held"))
        .otherwise(pl.col("detail"))
    )
    return out.drop("_g", "_held")
