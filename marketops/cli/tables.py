"""Tables people can read: wide enough for timestamps and paths, numbers right-aligned with separators.

Rich sizes a table to the console; a pipe or a CI log has no width, and rich's 80 columns wrapped every cell
of a 12-column result to ~10 characters. Off a terminal the console is at least :data:`MIN_WIDTH` wide; a cell
longer than its share folds instead of being cut with an ellipsis, so nothing is hidden.
"""

from __future__ import annotations

import os
import sys
from datetime import date, datetime
from typing import Any

import polars as pl
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

MIN_WIDTH = 160  # off a terminal: wide enough for a bar row (venue, symbol, ts, OHLCV) on one line
MAX_ROWS = 1000  # a longer result is cut here with a note; `--format csv` prints all of it


def console_width(stream: Any = None) -> int | None:
    """``None`` on a terminal (rich measures it and follows resizes), else ``$COLUMNS`` but at least MIN_WIDTH."""
    stream = stream if stream is not None else sys.stdout
    if hasattr(stream, "isatty") and stream.isatty():
        return None
    columns = os.environ.get("COLUMNS", "")
    return max(MIN_WIDTH, int(columns)) if columns.isdigit() else MIN_WIDTH


def cell(value: Any) -> str:
    """One result value as text, exact (ids and prices are copied from here): ``—`` for none, ISO times."""
    if value is None:
        return "—"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def frame_table(frame: pl.DataFrame, limit: int = MAX_ROWS) -> Table:
    """A result frame as a rich table: one column per frame column, numbers right-aligned, long cells folded."""
    table = Table(header_style="bold")
    for name, dtype in frame.schema.items():
        table.add_column(name, justify="right" if dtype.is_numeric() else "left", overflow="fold", min_width=4)
    for row in frame.head(limit).iter_rows():
        table.add_row(*(cell(v) for v in row))
    if frame.height > limit:
        table.caption = f"first {limit:,} of {frame.height:,} rows; --format csv prints them all"
    return table


def print_wide(console: Console, renderable: Any) -> None:
    """Print at the renderable's natural width when the output is not a terminal (a file, a pipe, a CI log have
    no edge to wrap at); on a terminal rich fits it to the window and folds long cells."""
    if console.is_terminal:
        console.print(renderable, highlight=False)
        return
    natural = Measurement.get(console, console.options.update_width(100_000), renderable).maximum
    previous = console.width
    console.width = max(previous, natural)  # print(width=) cannot exceed the console's own width
    try:
        console.print(renderable, highlight=False)
    finally:
        console.width = previous
