"""What a trade/quote reader is: a sniff on the file's head, a layout to stream it, a batch normaliser.

Readers are pure: the storage side (``storage.trade_files``) opens the file and streams raw batches
in the layout the reader asks for; the reader turns each batch into the canonical trade frame
(:data:`core.trades.frame.TRADE_SCHEMA`). So a file of any size is read batch by batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePath

import polars as pl

_SNIFF_LINES = 8  # sniffers read the first line; a few more for a look-ahead


@dataclass(frozen=True)
class TradeHead:
    """What sniffing sees: the path, the inner member's name (zip), and the first bytes of the payload."""

    path: str
    member: str  # name inside a .zip ("" otherwise)
    text: str  # first ~64 KiB of the (unzipped / gunzipped) payload; "" for Parquet
    parquet_columns: tuple[str, ...] = ()
    parquet_metadata: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return PurePath(self.path).name

    @cached_property
    def lines(self) -> tuple[str, ...]:
        """The head's first non-empty lines (at most :data:`_SNIFF_LINES`), split once.

        Every landing file is offered to the trade sniffers before the bar readers, and each sniffer asks
        for the first line or its fields: splitting the ~64 KiB head on every ask cost ~0.9 s of a
        512-file bar batch's parse."""
        for size in (4096, len(self.text)):  # a few lines are enough: split the whole head only if they are long
            found = [line for line in self.text[:size].splitlines() if line.strip()]
            if len(found) > _SNIFF_LINES or size >= len(self.text):
                break
        return tuple(found[:_SNIFF_LINES])

    @property
    def first_line(self) -> str:
        return self.lines[0].strip().lstrip("\ufeff") if self.lines else ""

    def fields(self, line_no: int = 0) -> list[str]:
        lines = self.lines
        return [f.strip() for f in lines[line_no].split(",")] if len(lines) > line_no else []

    @property
    def header_names(self) -> list[str]:
        return [f.strip().strip('"').lower() for f in self.first_line.split(",")]


@dataclass(frozen=True)
class Layout:
    """How to stream the file: kind, column names in file order, header rows to skip, fast-path types."""

    kind: str  # "csv" | "parquet" | "json"
    names: tuple[str, ...] = ()
    skip_rows: int = 0
    types: dict[str, pl.DataType] = field(default_factory=dict)  # typed fast path; others read as text
    keep: tuple[str, ...] = ()  # the columns the normaliser reads (empty: all); the rest are never parsed


Sniff = Callable[[TradeHead], bool]
LayoutOf = Callable[[TradeHead], Layout]


@dataclass(frozen=True)
class TradeFormat:
    name: str
    default_venue: str | None
    sniff: Callable[[TradeHead], bool]
    layout: Callable[[TradeHead], Layout]
    # (raw batch with a ``line`` column, head) -> canonical trade frame
    normalize: Callable[[pl.DataFrame, TradeHead], pl.DataFrame]
    # what the reader knows about identity from the path/content: (venue, symbol), None where silent
    identity: Callable[[TradeHead], tuple[str | None, str | None]] = lambda head: (None, None)


def is_int(text: str, digits: tuple[int, int] = (1, 19)) -> bool:
    t = text.strip().strip('"')
    return t.isdigit() and digits[0] <= len(t) <= digits[1]


def is_number(text: str) -> bool:
    try:
        float(text.strip().strip('"'))
    except ValueError:
        return False
    return True
