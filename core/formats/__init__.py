"""Readers for real market-data file formats: pure functions of a file's bytes to a raw bar frame."""

from core.formats import binance, generic, histdata
from core.formats.frame import RAW_SCHEMA, SourceFile
from core.formats.registry import FORMATS, read_source

__all__ = ["FORMATS", "RAW_SCHEMA", "SourceFile", "binance", "generic", "histdata", "read_source"]
