"""Generic CSV or Parquet bars with a header, mapped to canonical columns by name.

Column order is never trusted (files such as ``Date,Open,Close,High,Low,Volume`` exist); names are
matched case-insensitively against aliases, and an explicit mapping wins. Naive timestamps are read
in a configured zone (default UTC) and converted to UTC.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import cast

import polars as pl

from core.errors import UnreadableFileError
from core.formats.frame import TS_TYPE, SourceFile, conform

NAME = "generic"

ALIASES: dict[str, tuple[str, ...]] = {
    "ts": ("ts", "timestamp", "datetime", "date_time", "time", "date", "open_time", "gmt time", "local time"),
    "open": ("open", "o", "open_price"),
    "high": ("high", "h", "high_price"),
    "low": ("low", "l", "low_price"),
    "close": ("close", "c", "close_price", "last"),
    "volume": ("volume", "vol", "v", "base_volume"),
    "trades": ("trades", "number_of_trades", "count", "num_trades"),
    "quote_volume": ("quote_volume", "quote_asset_volume", "turnover", "notional"),
}
REQUIRED = ("ts", "open", "high", "low", "close")

# Tried in order on a sample; the first that parses every sampled value wins.
TS_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M:%S%.f",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y.%m.%d %H:%M",
    "%Y%m%d %H%M%S",
    "%Y%m%d %H:%M:%S",
)
_SAMPLE = 200


def looks_like(first_line: str) -> bool:
    """A header row that names at least a time column and the four prices."""
    names = {part.strip().strip('"').lower() for part in first_line.replace(";", ",").split(",")}
    return all(any(alias in names for alias in ALIASES[c]) for c in REQUIRED)


def resolve_columns(columns: list[str], mapping: Mapping[str, str]) -> dict[str, str]:
    """Canonical name -> source column, from the explicit mapping first, then aliases."""
    by_lower = {c.strip().lower(): c for c in columns}
    resolved: dict[str, str] = {}
    for canonical, aliases in ALIASES.items():
        if canonical in mapping:
            wanted = mapping[canonical]
            if wanted not in columns:
                raise UnreadableFileError(
                    f"mapped column {wanted!r} for {canonical} is not in the file (columns: {columns})"
                )
            resolved[canonical] = wanted
            continue
        for alias in aliases:
            if alias in by_lower:
                resolved[canonical] = by_lower[alias]
                break
    missing = [c for c in REQUIRED if c not in resolved]
    if missing:
        raise UnreadableFileError(f"no column for {', '.join(missing)} (columns: {columns}); set a column mapping")
    return resolved


def parse_timestamps(values: pl.Series, timezone: str) -> pl.Series:
    """Strings or epoch numbers to UTC milliseconds; unparseable values become null."""
    if values.dtype.is_numeric():
        ints = values.cast(pl.Int64, strict=False)
        top = cast(int | None, ints.abs().max()) or 0  # the max of an Int64 series
        unit_ms = ints * 1000 if top < 100_000_000_000 else (ints // 1000 if top >= 100_000_000_000_000 else ints)
        return unit_ms.cast(pl.Datetime("ms")).dt.replace_time_zone("UTC")
    if isinstance(values.dtype, pl.Datetime):
        naive = values.dt.cast_time_unit("ms")
        if values.dtype.time_zone is None:
            naive = naive.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
        return naive.dt.convert_time_zone("UTC")
    text = values.cast(pl.String).str.strip_chars()
    sample = text.drop_nulls().head(_SAMPLE)
    for fmt in TS_FORMATS:
        trial = sample.str.to_datetime(fmt, time_unit="ms", strict=False)
        if sample.len() and trial.null_count() == 0:
            local = text.str.to_datetime(fmt, time_unit="ms", strict=False)
            return local.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null").dt.convert_time_zone(
                "UTC"
            )
    # ISO strings with an explicit offset or zone.
    try:
        aware = text.str.to_datetime(time_unit="ms", strict=False, time_zone="UTC")
    except pl.exceptions.PolarsError as exc:
        raise UnreadableFileError(f"timestamps such as {sample[:1].to_list()} match no known layout") from exc
    if aware.null_count() == aware.len():
        raise UnreadableFileError(f"timestamps such as {sample[:1].to_list()} match no known layout")
    return aware


def read(source: SourceFile, mapping: Mapping[str, str] | None = None, timezone: str = "UTC") -> pl.DataFrame:
    mapping = mapping or {}
    if source.name.lower().endswith(".parquet"):
        try:
            frame = pl.read_parquet(io.BytesIO(source.data))
        except pl.exceptions.PolarsError as exc:
            raise UnreadableFileError(f"not a readable Parquet file: {exc}") from exc
        line_offset = 0
    else:
        payload = source.payload()
        if not payload.strip():
            raise UnreadableFileError("file is empty")
        separator = ";" if payload[:512].count(b";") > payload[:512].count(b",") else ","
        try:
            frame = pl.read_csv(
                io.BytesIO(payload), separator=separator, infer_schema=False, truncate_ragged_lines=True
            )
        except pl.exceptions.PolarsError as exc:
            raise UnreadableFileError(f"not a readable CSV file: {exc}") from exc
        line_offset = 1  # header line
    columns = resolve_columns(frame.columns, mapping)
    out = frame.select(pl.col(src).alias(dst) for dst, src in columns.items())
    ts = parse_timestamps(out.get_column("ts"), timezone).cast(TS_TYPE)
    numeric = [c for c in out.columns if c != "ts"]
    out = out.with_columns(
        ts,
        *(
            pl.col(c).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
            if out.schema[c] == pl.String
            else pl.col(c).cast(pl.Float64, strict=False)
            for c in numeric
        ),
    ).with_row_index("line", offset=1 + line_offset)
    if "volume" not in out.columns:
        out = out.with_columns(volume=pl.lit(0.0))
    required = ["ts", "open", "high", "low", "close", "volume"]
    clean = pl.all_horizontal(pl.col(c).is_not_null() for c in required)
    raw = pl.concat_str([pl.col(c).cast(pl.String) for c in required], separator=",", ignore_nulls=False)
    out = out.with_columns(raw=pl.when(clean).then(None).otherwise(pl.coalesce(raw, pl.lit("<unparseable row>"))))
    return conform(out)
