"""Generic delimited text (CSV/TSV/``;``/``|``) or Parquet bars with a header, mapped by column name.

Column order and case are never trusted (``Date,Open,Close,High,Low,Volume`` exists): names are
normalised (``<TICKVOL>``, ``Gmt time``, ``open_time`` -> ``tickvol``, ``gmttime``, ``opentime``) and
matched against aliases; an explicit mapping (``MARKETOPS_GENERIC_COLUMNS``) wins. ``Date`` and ``Time``
as two columns are joined; an unnamed leading index column (pandas ``to_csv``) is ignored. A file with
bid and ask price columns yields one row per side (side ``bid``/``ask``; the symbol gets ``.BID``/``.ASK``).

Naive times: ``--timezone``, else the venue's session zone, else UTC (recorded, warned).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence

import polars as pl

from core.errors import UnreadableFileError
from core.formats.archive import PARQUET_MAGIC
from core.formats.frame import RAW_SCHEMA, SourceFile, conform_exprs, strip_bom
from core.formats.protocol import ReaderOptions, ReadResult, ZoneChoice
from core.formats.tabular import TextTable, normalize_name, read_table, sniff_layout
from core.formats.timeparse import to_utc

NAME = "generic"

# normalised name -> canonical; earlier aliases win when a file has several.
FULL_TIME = (
    "timestamp",
    "datetime",
    "datetimeutc",
    "timestamputc",
    "ts",
    "tsevent",  # Databento
    "windowstart",  # Polygon flat files
    "opentime",
    "unix",
    "unixtime",
    "epoch",
    "gmttime",
    "localtime",
    "date",
)
DATE_ONLY = ("date", "day", "tradedate", "tradingday")
TIME_ONLY = ("time", "timeutc", "hour")
PRICE_ALIASES: dict[str, tuple[str, ...]] = {
    "open": ("open", "o", "openprice", "first"),
    "high": ("high", "h", "highprice", "max"),
    "low": ("low", "l", "lowprice", "min"),
    "close": ("close", "c", "closeprice", "last", "lastprice"),
}
VOLUME_ALIASES = ("volume", "vol", "v", "basevolume", "qty", "quantity", "tickvolume", "tickvol", "tickqty", "ticks")
TRADES_ALIASES = ("trades", "numberoftrades", "count", "numtrades", "tradecount", "ntrades", "transactions", "barcount")
SYMBOL_ALIASES = ("symbol", "ticker", "instrument", "pair", "sym")
QUOTE_VOLUME_ALIASES = ("quotevolume", "quoteassetvolume", "turnover", "notional")
SIDES = ("bid", "ask")
REQUIRED = ("ts", "open", "high", "low", "close")


def _side_aliases(side: str, field: str) -> tuple[str, ...]:
    short = field[0]
    return (f"{side}{field}", f"{field}{side}", f"{side}{short}")


def header_score(header: Sequence[str]) -> float:
    """How well a header names a bar file: 1.0 time + four prices (plain or per side), less otherwise."""
    names = {normalize_name(h) for h in header}
    has_time = any(a in names for a in (*FULL_TIME, *DATE_ONLY, *TIME_ONLY))
    plain = all(any(a in names for a in aliases) for aliases in PRICE_ALIASES.values())
    sided = any(all(any(a in names for a in _side_aliases(s, f)) for f in PRICE_ALIASES) for s in SIDES)
    if has_time and (plain or sided):
        return 0.6
    return 0.0


def sniff(head: str, name: str) -> float:
    if head.startswith(PARQUET_MAGIC.decode()):
        return 0.6
    layout = sniff_layout(head)
    if layout is None or not layout.has_header:
        return 0.0
    return header_score(layout.first_fields)


def named_frame(table: TextTable) -> pl.DataFrame:
    """The table's fields under their header names (duplicates and blanks made unique), plus line/raw."""
    assert table.header is not None
    names: list[str] = []
    for i in range(table.width):
        base = table.header[i] if i < len(table.header) and table.header[i] else f"_col{i}"
        name, n = base, 2
        while name in names or name in ("line", "raw"):
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return table.fields.select("line", "raw", *(pl.col(f"f{i}").alias(n) for i, n in enumerate(names)))


def _pick(by_norm: Mapping[str, str], aliases: Sequence[str]) -> str | None:
    return next((by_norm[a] for a in aliases if a in by_norm), None)


def _time_values(data: pl.DataFrame, by_norm: Mapping[str, str], mapping: Mapping[str, str]) -> pl.Series:
    if "ts" in mapping:
        return data.get_column(mapping["ts"])
    full = _pick(by_norm, FULL_TIME[:-1])
    date, clock = _pick(by_norm, DATE_ONLY), _pick(by_norm, TIME_ONLY)
    if full is None and date is not None and clock is not None:
        return data.select(pl.concat_str([pl.col(date).cast(pl.String), pl.col(clock).cast(pl.String)], separator=" "))[
            :, 0
        ]
    chosen = full or clock or date
    if chosen is None:
        raise UnreadableFileError(f"no time column (columns: {list(by_norm.values())}); set a column mapping")
    return data.get_column(chosen)


def _volume(data: pl.DataFrame, by_norm: Mapping[str, str], notes: list[str]) -> pl.Expr:
    present = [by_norm[a] for a in VOLUME_ALIASES if a in by_norm]
    if not present:  # "Volume BTC", "Volume USD": the first named volume is the base one
        present = [c for n, c in by_norm.items() if n.startswith("volume")][:1]
        if present:
            notes.append(f"volume from {present[0]!r}")
    if not present:
        notes.append("no volume column: volume 0")
        return pl.lit(0.0)
    if len(present) == 1:
        return pl.col(present[0]).pipe(_float)
    nonzero = data.select((pl.col(c).pipe(_float).fill_null(0) != 0).any().alias(c) for c in present).row(0)
    for column, used in zip(present, nonzero, strict=True):
        if used:
            if column != present[0]:
                notes.append(f"volume from {column!r} ({present[0]!r} is all zero)")
            return pl.col(column).pipe(_float)
    return pl.col(present[0]).pipe(_float)


def _float(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)


_THOUSANDS = r"^\s*[-+]?\d{1,3}(?:,\d{3})+\.\d+\s*$"
_DECIMAL_COMMA = r"^[-+]?\d+,(?:\d{1,2}|\d{4,})$"  # "1,5" or "1,0835"; "1,234" could be a thousands separator


def _decimal_commas(data: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """Columns whose numbers evidently use a decimal comma (some value has 1-2 or 4+ digits after the only
    comma, none has a point) read with a point; a column of only ``d,ddd`` values stays unparsed."""
    text = [c for c in dict.fromkeys(columns) if data.schema[c] == pl.String]
    if text:  # only columns with a comma at all are worth a regex
        commas = data.select(pl.col(c).str.contains(",", literal=True).any() for c in text).row(0, named=True)
        text = [c for c in text if commas[c]]
    if not text:
        return data
    flags = data.select(
        *(
            (
                pl.col(c).str.strip_chars().str.contains(_DECIMAL_COMMA).any()
                & ~pl.col(c).str.contains(".", literal=True).any()
            ).alias(c)
            for c in text
        )
    ).row(0, named=True)
    comma = [c for c, yes in flags.items() if yes]
    grouped = [c for c in text if c not in comma]  # "1,234.50": thousands separators beside a decimal point
    return data.with_columns(
        *(pl.col(c).str.replace(",", ".", literal=True) for c in comma),
        *(
            pl.when(pl.col(c).str.contains(_THOUSANDS))
            .then(pl.col(c).str.replace_all(",", "", literal=True))
            .otherwise(pl.col(c))
            for c in grouped
        ),
    )


def _symbol(data: pl.DataFrame, by_norm: Mapping[str, str]) -> str | None:
    """The one instrument a symbol/ticker column names; several are refused (bars of different instruments)."""
    column = _pick(by_norm, SYMBOL_ALIASES)
    if column is None:
        return None
    values = data.get_column(column).cast(pl.String).str.strip_chars().drop_nulls().unique().sort()
    values = values.filter(values != "")
    if values.len() > 1:
        shown = ", ".join(values.head(3).to_list())
        raise UnreadableFileError(
            f"file holds {values.len()} symbols in column {column!r} ({shown}, ...): one file per symbol"
        )
    return re.sub(r"[^A-Za-z0-9._-]", "", values[0]) if values.len() else None


def bars_from_columns(
    data: pl.DataFrame,
    options: ReaderOptions,
    *,
    fmt: str,
    stated: ZoneChoice | None = None,
    date_order: str | None = None,
    side: str = "trade",
    side_rows: bool = False,
    venue: str | None = None,
    notes: Sequence[str] = (),
) -> ReadResult:
    """Named columns (strings or typed) + ``line``/``raw`` -> the raw frame and what was applied.

    ``side_rows``: stamp every row with ``side`` (a single-sided quote file from a vendor that
    publishes both sides, e.g. Dukascopy BID): its symbol then carries the side suffix.
    """
    mapping = dict(options.columns)
    columns = [c for c in data.columns if c not in ("line", "raw")]
    for canonical, wanted in mapping.items():
        if wanted not in columns:
            raise UnreadableFileError(
                f"mapped column {wanted!r} for {canonical} is not in the file (columns: {columns})"
            )
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(normalize_name(c), c)
    noted = list(notes)
    symbol = _symbol(data, by_norm)
    numeric = [
        c
        for c in (
            *(mapping.get(f) or _pick(by_norm, a) for f, a in PRICE_ALIASES.items()),
            *(_pick(by_norm, _side_aliases(s, f)) for s in SIDES for f in PRICE_ALIASES),
            *(by_norm[a] for a in VOLUME_ALIASES if a in by_norm),
        )
        if c
    ]
    data = _decimal_commas(data, numeric)
    ts, zone = to_utc(_time_values(data, by_norm, mapping), options, stated=stated, date_order=date_order)
    common = [
        pl.col("line"),
        pl.lit(ts).alias("ts"),
        _volume(data, by_norm, noted).alias("volume"),
        (pl.col(t).pipe(_float).cast(pl.Int64, strict=False) if (t := _pick(by_norm, TRADES_ALIASES)) else pl.lit(None))
        .cast(pl.Int64)
        .alias("trades"),
        (pl.col(q).pipe(_float) if (q := _pick(by_norm, QUOTE_VOLUME_ALIASES)) else pl.lit(None))
        .cast(pl.Float64)
        .alias("quote_volume"),
    ]
    plain = {f: mapping.get(f) or _pick(by_norm, aliases) for f, aliases in PRICE_ALIASES.items()}
    frames: list[tuple[str | None, dict[str, str]]] = []
    if all(plain.values()):
        frames.append((side if side_rows else None, {f: c for f, c in plain.items() if c}))
        result_side = side
    else:
        for s in SIDES:
            sided = {f: _pick(by_norm, _side_aliases(s, f)) for f in PRICE_ALIASES}
            if all(sided.values()):
                frames.append((s, {f: c for f, c in sided.items() if c}))
        if not frames:
            missing = [f for f, c in plain.items() if not c]
            raise UnreadableFileError(f"no column for {', '.join(missing)} (columns: {columns}); set a column mapping")
        result_side = "+".join(s for s, _ in frames if s)
    raw_text = (
        pl.col("raw")
        if "raw" in data.columns
        else pl.concat_str([pl.col(c).cast(pl.String) for c in columns], separator=",", ignore_nulls=True)
    )
    lazy = data.lazy()
    parts = [
        lazy.select(
            *common,
            *(pl.col(src).pipe(_float).alias(dst) for dst, src in prices.items()),
            raw_text.alias("raw"),
            pl.lit(row_side, pl.String).alias("side"),
        )
        for row_side, prices in frames
    ]
    clean = pl.all_horizontal(pl.col(c).is_not_null() for c in ("ts", "open", "high", "low", "close", "volume"))
    frame = (
        pl.concat(parts, how="vertical")
        .with_columns(raw=pl.when(clean).then(None).otherwise(pl.coalesce("raw", pl.lit("<row>"))))
        .select(conform_exprs([*RAW_SCHEMA]))
        .collect()
    )
    return ReadResult(frame, fmt, zone.label, result_side, venue, symbol, tuple(noted))


def _read_parquet(source: SourceFile, options: ReaderOptions) -> ReadResult:
    try:
        data = pl.read_parquet(io.BytesIO(source.data))
    except pl.exceptions.PolarsError as exc:
        raise UnreadableFileError(f"not a readable Parquet file: {exc}") from exc
    if "line" in data.columns or "raw" in data.columns:
        data = data.rename({c: f"{c}_" for c in ("line", "raw") if c in data.columns})
    data = data.with_row_index("line", offset=1).with_columns(pl.col("line").cast(pl.UInt32))
    return bars_from_columns(data, options, fmt=NAME)


def read(source: SourceFile, options: ReaderOptions) -> ReadResult:
    if source.data.startswith(PARQUET_MAGIC):
        return _read_parquet(source, options)
    payload = strip_bom(source.payload())
    if not payload.strip():
        raise UnreadableFileError("file is empty")
    table = read_table(payload)
    if table.header is None:
        raise UnreadableFileError(f"no header row naming the columns (first row: {table.fields['raw'][0]!r})")
    if table.fields.height == 0:
        raise UnreadableFileError("file has a header but no data rows")
    return bars_from_columns(named_frame(table), options, fmt=NAME)


class GenericReader:
    name = NAME
    description = "CSV/TSV/;/| or Parquet with a header naming time and open/high/low/close (any order or case)"

    def sniff(self, head: str, name: str) -> float:
        return sniff(head, name)

    def read(self, source: SourceFile, options: ReaderOptions) -> ReadResult:
        return read(source, options)


__all__ = ["NAME", "RAW_SCHEMA", "GenericReader", "bars_from_columns", "named_frame", "read", "sniff"]
