"""Delimited text as a table of string fields: separator, header and quoting told from the content.

Every line keeps its 1-based number and its text, so a row that fails later is quarantined with
the exact line a person can look up. Splitting is column-wise (polars string kernels); quoted
fields are unquoted, a line that is one quoted field holding the whole record (an MT5 export
variant) is unwrapped, a BOM and CRLF endings are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from core.errors import UnreadableFileError
from core.formats.frame import decode

SEPARATORS = ("\t", ";", "|", ",")
_NUMBER = re.compile(r"^[-+]?(?:\d+(?:[.,]\d*)?|\.\d+)(?:[eE][-+]?\d+)?$")
_WRAPPED = re.compile(r'^"([^"]*)"\r?$', re.MULTILINE)


def normalize_name(name: str) -> str:
    """``<TICKVOL>``, ``Gmt time``, ``open_time`` -> ``tickvol``, ``gmttime``, ``opentime``."""
    return re.sub(r"[\s_\-<>\"'.()]+", "", name.lower())


@dataclass(frozen=True)
class Layout:
    """What the head of a file says about its shape."""

    separator: str
    first_fields: tuple[str, ...]  # fields of the first non-empty line, unquoted and stripped
    has_header: bool
    wrapped: bool  # each line is one quoted field holding the record
    banner: int = 0  # leading lines without the separator (a vendor's URL or title) before the table


def _unwrap(text: str) -> tuple[str, bool]:
    lines = [line for line in text.splitlines()[:5] if line.strip()]
    if lines and all(_WRAPPED.match(line) and "\t" in line for line in lines):
        return _WRAPPED.sub(r"\1", text), True
    return text, False


def split_fields(line: str, separator: str) -> tuple[str, ...]:
    return tuple(part.strip().strip('"').strip() for part in line.split(separator))


def is_number(field: str) -> bool:
    return bool(_NUMBER.match(field))


def sniff_layout(head: str) -> Layout | None:
    """Separator (consistent count on the first lines), header (first line has no number), or None.

    Up to two leading banner lines that hold none of the separators (``https://www.CryptoDataDownload.com``)
    are skipped when the lines after them form a table.
    """
    text, wrapped = _unwrap(head)
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and not head.endswith(("\n", "\r")):
        lines = lines[:-1]  # the head may cut the last line short
    banner = 0
    while banner < 2 and len(lines) > banner + 1 and not any(s in lines[banner] for s in SEPARATORS):
        banner += 1
    found = _layout(lines[banner : banner + 20], wrapped)
    return Layout(found.separator, found.first_fields, found.has_header, wrapped, banner) if found else None


def _layout(lines: list[str], wrapped: bool) -> Layout | None:
    if not lines:
        return None
    chosen = ""
    for separator in SEPARATORS:
        counts = [line.count(separator) for line in lines]
        if min(counts) >= 1 and (max(counts) == min(counts) or len(lines) == 1):
            chosen = separator
            break
    if not chosen:
        best = max(SEPARATORS, key=lambda s: min(line.count(s) for line in lines))
        if min(line.count(best) for line in lines) < 1:
            return None
        chosen = best
    fields = split_fields(lines[0], chosen)
    header = not any(is_number(f) for f in fields) and any(re.search(r"[A-Za-z]", f) for f in fields)
    return Layout(chosen, fields, header, wrapped)


@dataclass(frozen=True)
class TextTable:
    """String fields ``f0..fN`` with ``line`` (1-based) and ``raw`` (the line's text)."""

    fields: pl.DataFrame
    header: tuple[str, ...] | None
    separator: str

    def column(self, index: int) -> pl.Series:
        name = f"f{index}"
        if name in self.fields.columns:
            return self.fields.get_column(name)
        return pl.Series(name, [None] * self.fields.height, dtype=pl.String)

    @property
    def width(self) -> int:
        return sum(1 for c in self.fields.columns if c.startswith("f"))


def read_table(payload: bytes, layout: Layout | None = None, *, max_width: int = 64) -> TextTable:
    """Split ``payload`` into string fields; the header line (if any) gives the names, not a row."""
    text = decode(payload)
    if layout is None:
        layout = sniff_layout(text[:8192])
    if layout is None:
        raise UnreadableFileError("not delimited text: no separator (tab ; | ,) found on the first lines")
    if layout.wrapped:
        text, _ = _unwrap(text)
    lines = (
        pl.DataFrame({"raw": text.splitlines()}, schema={"raw": pl.String()})
        .with_row_index("line", offset=1)
        .with_columns(pl.col("line").cast(pl.UInt32))
        .filter(pl.col("raw").str.strip_chars() != "")
    )
    lines = lines.slice(layout.banner)
    header: tuple[str, ...] | None = None
    if layout.has_header and lines.height:
        header = split_fields(lines.get_column("raw")[0], layout.separator)
        lines = lines.slice(1)
    parts = pl.col("raw").str.split(layout.separator)
    width = lines.select(parts.list.len().max()).item() or 0
    width = min(max(width, len(header or ())), max_width)
    fields = lines.with_columns(
        parts.list.get(i, null_on_oob=True).str.strip_chars().str.strip_chars('"').str.strip_chars().alias(f"f{i}")
        for i in range(width)
    )
    return TextTable(fields, header, layout.separator)


def to_float(values: pl.Series, decimal_comma: bool = False) -> pl.Series:
    """Strings to Float64; unparseable values null (their rows are quarantined, not guessed)."""
    if values.dtype != pl.String:
        return values.cast(pl.Float64, strict=False)
    if decimal_comma:
        values = values.str.replace(",", ".", literal=True)
    return values.cast(pl.Float64, strict=False)
