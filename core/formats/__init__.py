"""Readers for real market-data file formats: pure functions of a file's bytes to a raw bar frame.

The protocol (:mod:`core.formats.protocol`) is what a plug-in implements; :mod:`core.formats.registry`
detects, dispatches and checks the result.
"""

from core.formats import binance, generic, histdata
from core.formats.frame import RAW_SCHEMA, SourceFile
from core.formats.protocol import Reader, ReaderOptions, ReadResult
from core.formats.registry import FORMATS, available_readers, read_bars, read_source

__all__ = [
    "FORMATS",
    "RAW_SCHEMA",
    "ReadResult",
    "Reader",
    "ReaderOptions",
    "SourceFile",
    "available_readers",
    "binance",
    "generic",
    "histdata",
    "read_bars",
    "read_source",
]
