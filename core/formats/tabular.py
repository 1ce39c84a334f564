"""Delimited text as a table of string fields: separator, header and quoting told from the content.

Every line keeps its 1-based number and its text, so a row that fails later is quarantined with
the exact line a person can look up. Splitting is column-wise (polars string kernels); quoted
fields are unquoted, a line that is one quoted field holding the whole record (an MT5 export
variant) is unwrapped, a BOM and CRLF endings are dropped.
"""

from __future__ import annotations

import functools
import io
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


@functools.lru_cache(maxsize=16)
def sniff_layout(head: str) -> Layout | None:
    """Separator (consistent count on the first lines), header (first line has no number), or None.

    Up to two leading banner lines that hold none of the separators (``https://www.CryptoDataDownload.com``)
    are skipped when the lines after them form a table.

    Memoised (a ``Layout`` is immutable): every tabular reader sniffs the same head of the same file in turn.
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
    fields = None if layout.wrapped else _read_fast(text, layout, max_width)
    if fields is None:
        fields = _split_lines(_unwrap(text)[0] if layout.wrapped else text, layout, max_width)
    header: tuple[str, ...] | None = None
    if layout.has_header and fields.height:
        header = split_fields(fields.get_column("raw")[0], layout.separator)
        fields = fields.slice(1)
    return TextTable(fields, header, layout.separator)


def _read_fast(text: str, layout: Layout, max_width: int) -> pl.DataFrame | None:
    """polars' CSV parser (quotes honoured) when every physical line is one row; None sends the file to
    :func:`_split_lines` (a quoted field spanning lines, CR-only endings, a parser refusal)."""
    if "\r" in text and "\n" not in text:
        return None
    physical = text.split("\n")
    if physical and physical[-1] == "":
        physical.pop()
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode()),
            has_header=False,
            separator=layout.separator,
            infer_schema=False,
            truncate_ragged_lines=True,
            skip_rows=layout.banner,
        )
    except pl.exceptions.PolarsError:
        return None
    if frame.height != len(physical) - layout.banner:
        return None
    width = min(frame.width, max_width)
    return (
        frame.lazy()
        .select(
            pl.int_range(layout.banner + 1, len(physical) + 1, dtype=pl.UInt32).alias("line"),
            pl.Series("raw", physical[layout.banner :], dtype=pl.String).str.strip_suffix("\r"),
            *(pl.col(c).str.strip_chars().alias(f"f{i}") for i, c in enumerate(frame.columns[:width])),
        )
        .filter(pl.col("raw").str.strip_chars() != "")
        .collect()
    )


def _split_lines(text: str, layout: Layout, max_width: int) -> pl.DataFrame:
    """Every non-empty line split on the separator (quotes stripped per field): never fails on odd lines."""
    lines = (
        pl.DataFrame({"raw": text.splitlines()}, schema={"raw": pl.String()})
        .lazy()
        .with_row_index("line", offset=1)
        .with_columns(pl.col("line").cast(pl.UInt32))
        .filter(pl.col("raw").str.strip_chars() != "")
        .slice(layout.banner)
        .collect()
    )
    separator = layout.separator
    width = (lines.select(pl.col("raw").str.count_matches(separator, literal=True).max()).item() or 0) + 1
    width = min(width, max_width)
    split = pl.col("raw").str.split_exact(separator, width - 1).struct
    return lines.with_columns(split.field(f"field_{i}").str.strip_chars(' "\t').alias(f"f{i}") for i in range(width))


def to_float(values: pl.Series, decimal_comma: bool = False) -> pl.Series:
    """Strings to Float64; unparseable values null (their rows are quarantined, not guessed)."""
    if values.dtype != pl.String:
        return values.cast(pl.Float64, strict=False)
    if decimal_comma:
        values = values.str.replace(",", ".", literal=True)
    return values.cast(pl.Float64, strict=False)
