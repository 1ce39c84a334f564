"""Format detection and dispatch: the one entry point the ingest path calls."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import polars as pl

from core.errors import UnreadableFileError
from core.formats import binance, generic, histdata
from core.formats.frame import SourceFile
from core.trades import readers as trade_readers

FORMATS = ("binance", "histdata", "generic")
# Trade/quote files are a second family with their own streaming path (core/trades, tasks/trades.py):
# ``--format trades`` or one of its format names sends a file there; detection tries them first.
TRADES_FAMILY = trade_readers.FAMILY
TRADE_FORMATS = tuple(trade_readers.BY_NAME)


def family_of(fmt: str | None) -> str | None:
    """``"trades"`` for the trades family or one of its formats, ``"bars"`` for a bar format, None to detect."""
    if fmt is None:
        return None
    return TRADES_FAMILY if fmt == TRADES_FAMILY or fmt in TRADE_FORMATS else "bars"


def detect_format(source: SourceFile) -> str:
    """Sniff the first line (or the extension for Parquet); raise with the reason when nothing fits."""
    if source.name.lower().endswith(".parquet"):
        return generic.NAME
    head = source.text_head()
    first = next((line for line in head.splitlines() if line.strip()), "")
    if not first:
        raise UnreadableFileError("file is empty")
    checks: list[tuple[str, Callable[[str], bool]]] = [
        (binance.NAME, binance.looks_like),
        (histdata.NAME, histdata.looks_like),
        (generic.NAME, generic.looks_like),
    ]
    for name, looks_like in checks:
        if looks_like(first):
            return name
    shown = first[:120].replace("\r", "")
    raise UnreadableFileError(
        f"no reader accepts this file: first line {shown!r} is neither Binance klines, HistData M1 "
        "nor a CSV header naming time/open/high/low/close"
    )


def read_source(
    source: SourceFile,
    fmt: str | None = None,
    *,
    columns: Mapping[str, str] | None = None,
    timezone: str = "UTC",
) -> tuple[str, pl.DataFrame]:
    """Parse ``source`` with ``fmt`` (autodetected when None) into the raw frame; returns (format, frame)."""
    chosen = fmt or detect_format(source)
    if chosen == binance.NAME:
        return chosen, binance.read(source)
    if chosen == histdata.NAME:
        return chosen, histdata.read(source)
    if chosen == generic.NAME:
        return chosen, generic.read(source, columns, timezone)
    if family_of(chosen) == TRADES_FAMILY:
        raise UnreadableFileError(f"{chosen!r} is a trade/quote format: trade files are read by the trades path")
    known = ", ".join((*FORMATS, TRADES_FAMILY, *TRADE_FORMATS))
    raise UnreadableFileError(f"unknown format {chosen!r}; known: {known}")
