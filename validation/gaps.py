"""Gaps and off-session bars against a session calendar's minute grid.

Each bar is placed on the grid of expected minutes (a binary search, column-wise). Between two
consecutive bars of a symbol, the grid positions they skip are one missing interval, reported once
with its first and last missing minute and how many minutes are missing: a 61-minute exchange halt
is one anomaly, not 61, and an equity close-to-open night is no gap at all because the grid has no
minutes there. Bars that land off the grid are reported as runs of ``outside_session``.
"""

from __future__ import annotations

import polars as pl

from core.formats.frame import TS_TYPE
from validation.catalogue import as_anomalies, empty_anomalies

_FMT = "%Y-%m-%d %H:%M"


def grid_positions(grid: pl.Series, ts: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Position of each ts on the grid, and whether the ts is a grid minute."""
    pos = grid.search_sorted(ts, side="left").cast(pl.Int64)
    at = grid.gather(pos.clip(0, max(grid.len() - 1, 0))) if grid.len() else pl.Series([], dtype=TS_TYPE)
    on_grid = (pos < grid.len()) & (at == ts) if grid.len() else pl.Series([False] * ts.len())
    return pos, on_grid.fill_null(False)


def find_gaps(bars: pl.DataFrame, grid: pl.Series, windows: pl.DataFrame, min_minutes: int = 1) -> pl.DataFrame:
    """Missing intervals of each symbol inside its window.

    ``bars``: venue, symbol, ts. ``grid``: sorted expected minutes covering every window.
    ``windows``: venue, symbol, start, end — where bars are expected ([start, end)); a symbol with a
    window and no bars at all is one gap over the whole window.
    """
    if grid.len() == 0 or windows.height == 0:
        return empty_anomalies()
    grid = grid.cast(TS_TYPE)
    keys = ["venue", "symbol"]
    w = windows.with_columns(
        ws=grid.search_sorted(windows["start"].cast(TS_TYPE), side="left").cast(pl.Int64),
        we=grid.search_sorted(windows["end"].cast(TS_TYPE), side="left").cast(pl.Int64),
    ).filter(pl.col("we") > pl.col("ws"))
    pos, on_grid = grid_positions(grid, bars["ts"].cast(TS_TYPE))
    placed = bars.select(keys).with_columns(p=pos).filter(on_grid).join(w.select(*keys, "ws", "we"), on=keys, how="inner")
    placed = placed.filter((pl.col("p") >= pl.col("ws")) & (pl.col("p") < pl.col("we"))).select(*keys, "p")
    # Sentinels one before the window and at its end turn leading/trailing holes into ordinary gaps.
    sentinels = pl.concat([w.select(*keys, (pl.col("ws") - 1).alias("p")), w.select(*keys, pl.col("we").alias("p"))])
    seq = pl.concat([placed, sentinels]).unique().sort(*keys, "p")
    same = (pl.col("venue") == pl.col("venue").shift()) & (pl.col("symbol") == pl.col("symbol").shift())
    holes = seq.with_columns(prev=pl.when(same).then(pl.col("p").shift())).filter(pl.col("p") - pl.col("prev") > 1)
    holes = holes.with_columns(minutes=pl.col("p") - pl.col("prev") - 1).filter(pl.col("minutes") >= min_minutes)
    if holes.height == 0:
        return empty_anomalies()
    first = grid.gather(holes["prev"] + 1)
    last = grid.gather(holes["p"] - 1)
    found = holes.select(keys + ["minutes"]).with_columns(ts=first, end_ts=last)
    found = found.with_columns(
        detail=pl.format("{} expected minutes missing: {} .. {} UTC", "minutes", pl.col("ts").dt.strftime(_FMT), pl.col("end_ts").dt.strftime(_FMT))
    )
    return as_anomalies(found, "gap")


def find_outside_session(bars: pl.DataFrame, grid: pl.Series, session: str) -> pl.DataFrame:
    """Runs of bars at minutes the calendar says are closed (e.g. a 16:00 print after an equity close)."""
    if bars.height == 0:
        return empty_anomalies()
    _, on_grid = grid_positions(grid.cast(TS_TYPE), bars["ts"].cast(TS_TYPE))
    off = bars.select("venue", "symbol", "ts").filter(~on_grid).sort("venue", "symbol", "ts")
    if off.height == 0:
        return empty_anomalies()
    same = (pl.col("venue") == pl.col("venue").shift()) & (pl.col("symbol") == pl.col("symbol").shift())
    step = (pl.col("ts") - pl.col("ts").shift()) == pl.duration(minutes=1)
    runs = off.with_columns(run=(~(same & step).fill_null(False)).cum_sum())
    found = runs.group_by("run").agg(
        pl.col("venue").first(), pl.col("symbol").first(), pl.col("ts").min().alias("ts"), pl.col("ts").max().alias("end_ts"), pl.len().alias("minutes")
    )
    found = found.with_columns(
        detail=pl.format("{} bars outside the {} session: {} .. {} UTC", "minutes", pl.lit(session), pl.col("ts").dt.strftime(_FMT), pl.col("end_ts").dt.strftime(_FMT))
    )
    return as_anomalies(found.sort("venue", "symbol", "ts"), "outside_session")
