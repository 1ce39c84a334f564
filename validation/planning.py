"""Which symbols one validate task judges: bounded by symbol count and by the bars it will read.

A task reads every bar of its symbols over the range (plus the look-back and look-ahead margins), so
a 10-year backfill of 200 symbols in one task would hold a billion rows. Symbols are packed in order
until the next one would take the task past ``max_rows`` bars (estimated as one bar per minute of the
symbol's span inside the read window, an upper bound); a symbol whose span alone is larger gets a task
of its own. The checks are per symbol, so how symbols are grouped never changes a finding.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl


def estimated_bars(scope: pl.DataFrame, load_start: datetime, load_end: datetime) -> pl.Series:
    """Upper bound of each symbol's 1m bars between ``load_start`` and ``load_end`` (its span, clipped)."""
    start = pl.max_horizontal(pl.col("first_seen"), pl.lit(load_start).cast(scope.schema["first_seen"]))
    end = pl.min_horizontal(pl.col("last_seen"), pl.lit(load_end).cast(scope.schema["last_seen"]))
    minutes = ((end - start).dt.total_minutes() + 1).clip(lower_bound=0)
    return scope.select(minutes.fill_null(0).alias("bars"))["bars"]


def symbol_batches(
    scope: pl.DataFrame, load_start: datetime, load_end: datetime, max_symbols: int, max_rows: int
) -> list[list[dict[str, Any]]]:
    """``scope`` (venue, symbol, first_seen, last_seen) in order, cut into batches of at most
    ``max_symbols`` symbols and ``max_rows`` estimated bars (a bigger single symbol alone)."""
    batches: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    held = 0
    for row, bars in zip(scope.to_dicts(), estimated_bars(scope, load_start, load_end).to_list(), strict=True):
        if current and (len(current) >= max_symbols or held + bars > max_rows):
            batches.append(current)
            current, held = [], 0
        current.append(row)
        held += bars
    if current:
        batches.append(current)
    return batches
