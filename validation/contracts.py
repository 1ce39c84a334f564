"""pandera contracts at the stage boundaries of the ingest path.

``RawBars``   what a reader hands over: the raw column set and types; rows may still be broken.
``CandidateBars`` after normalisation: identity columns valid on every row.
``Bars``      what may enter ``bars_1m``: every data rule holds on every row (column for column with the table).
Validation is lazy (every failure collected) and raised as :class:`core.errors.ContractViolation`.

On the ingest path the gate (:mod:`validation.gate`) proves every data rule of ``Bars`` on every row before
the contract sees the bars, so the boundary does not prove them twice: :func:`enforce_boundary` validates the
contract's schema (columns, types) and only the rules no gate check covers (:data:`INGEST_BOUNDARIES`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl
from pandera.config import ValidationDepth, config_context
from pandera.errors import SchemaError, SchemaErrors

from core.errors import ContractViolation
from core.formats.frame import RAW_SCHEMA, TS_TYPE
from core.identifiers import SYMBOL_PATTERN, VENUE_PATTERN
from validation.catalogue import CHECKS

_PRICES = ("open", "high", "low", "close")
PRICE_SIDES = ("trade", "bid", "ask", "mid")
BAR_SOURCES = ("candles", "trades")


def _minute_aligned(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select((pl.col(data.key).dt.epoch("ms") % 60_000 == 0).alias(data.key))


def _ohlc_consistent(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(
        (
            (pl.col("high") >= pl.max_horizontal("open", "close"))
            & (pl.col("low") <= pl.min_horizontal("open", "close"))
            & (pl.col("high") >= pl.col("low"))
        ).alias("ohlc_consistent")
    )


RawBars = pa.DataFrameSchema(
    {
        name: pa.Column(dtype, nullable=name != "line", checks=[pa.Check.ge(1)] if name == "line" else None)
        for name, dtype in RAW_SCHEMA.items()
    },
    name="RawBars",
    strict=True,
)

_IDENTITY = {
    "venue": pa.Column(pl.String, checks=pa.Check.str_matches(VENUE_PATTERN), nullable=False),
    "symbol": pa.Column(pl.String, checks=pa.Check.str_matches(SYMBOL_PATTERN), nullable=False),
    "source_id": pa.Column(pl.UInt64, nullable=False),
    "version": pa.Column(pl.UInt64, nullable=False),
}

CandidateBars = pa.DataFrameSchema(
    {
        **_IDENTITY,
        "ts": pa.Column(TS_TYPE, nullable=True),
        **{c: pa.Column(pl.Float64, nullable=True) for c in (*_PRICES, "volume", "quote_volume")},
        "trades": pa.Column(pl.UInt32, nullable=False),
        **{c: pa.Column(pl.Float64, nullable=True) for c in ("buy_volume", "sell_volume", "vwap")},
        "price_side": pa.Column(pl.String, nullable=False),
        "bar_source": pa.Column(pl.String, nullable=False),
        "line": pa.Column(pl.UInt32, nullable=False),
        "raw": pa.Column(pl.String, nullable=True),
    },
    name="CandidateBars",
    strict=True,
)

Bars = pa.DataFrameSchema(
    {
        **_IDENTITY,
        "ts": pa.Column(TS_TYPE, checks=pa.Check(_minute_aligned, name="minute_aligned"), nullable=False),
        **{
            c: pa.Column(pl.Float64, checks=[pa.Check.gt(0), pa.Check.lt(float("inf"))], nullable=False)
            for c in _PRICES
        },
        "volume": pa.Column(pl.Float64, checks=[pa.Check.ge(0), pa.Check.lt(float("inf"))], nullable=False),
        "trades": pa.Column(pl.UInt32, nullable=False),
        # NaN means "the source does not say"; pandera counts NaN as null, so nullable it must be.
        "quote_volume": pa.Column(pl.Float64, nullable=True),
        # Order flow (issue 14): null when the source does not say; price side and where the bar came from.
        **{
            c: pa.Column(pl.Float64, checks=[pa.Check.ge(0), pa.Check.lt(float("inf"))], nullable=True, required=False)
            for c in ("buy_volume", "sell_volume")
        },
        "vwap": pa.Column(
            pl.Float64, checks=[pa.Check.gt(0), pa.Check.lt(float("inf"))], nullable=True, required=False
        ),
        "price_side": pa.Column(pl.String, checks=pa.Check.isin(list(PRICE_SIDES)), nullable=False, required=False),
        "bar_source": pa.Column(pl.String, checks=pa.Check.isin(list(BAR_SOURCES)), nullable=False, required=False),
    },
    name="Bars",
    strict="filter",
    ordered=False,
    # One bar per minute per source file: two files may hold the same minute; which copy is stored is
    # decided by file precedence (``validation.batch.resolve_overlaps``), never by a contract failure.
    unique=["venue", "symbol", "ts", "source_id"],
    checks=[pa.Check(_ohlc_consistent, name="ohlc_consistent")],
)


def _interval_ordered(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select((pl.col("end_ts") >= pl.col("ts")).alias("interval_ordered"))


def _known_check(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key).is_in(list(CHECKS)))


_DAY_COUNT = pa.Column(pl.UInt32, nullable=False)

# What validate writes to ``anomalies``: known checks, a real interval, a severity the catalogue knows.
Anomalies = pa.DataFrameSchema(
    {
        "venue": pa.Column(pl.String, checks=pa.Check.str_matches(VENUE_PATTERN), nullable=False),
        "symbol": pa.Column(pl.String, checks=pa.Check.str_matches(SYMBOL_PATTERN), nullable=False),
        "ts": pa.Column(TS_TYPE, nullable=False),
        "end_ts": pa.Column(TS_TYPE, nullable=False),
        "minutes": pa.Column(pl.UInt32, checks=pa.Check.ge(1), nullable=False),
        "check": pa.Column(pl.String, checks=pa.Check(_known_check, name="known_check"), nullable=False),
        "severity": pa.Column(pl.String, checks=pa.Check.isin(["error", "warn"]), nullable=False),
        "detail": pa.Column(pl.String, nullable=False),
        "source_id": pa.Column(pl.UInt64, nullable=False),
        "line": pa.Column(pl.UInt32, nullable=False),
        "known_event": pa.Column(pl.String, nullable=False),
    },
    name="Anomalies",
    strict=True,
    checks=[pa.Check(_interval_ordered, name="interval_ordered")],
)

# One quality row per symbol-day: counts that add up and a status from the catalogue's vocabulary.
SymbolDays = pa.DataFrameSchema(
    {
        "venue": pa.Column(pl.String, checks=pa.Check.str_matches(VENUE_PATTERN), nullable=False),
        "symbol": pa.Column(pl.String, checks=pa.Check.str_matches(SYMBOL_PATTERN), nullable=False),
        "day": pa.Column(pl.Date, nullable=False),
        **dict.fromkeys(
            (
                "expected",
                "present",
                "off_session",
                "missing",
                "quarantined",
                "quarantined_unexplained",
                "anomalies",
                "known",
            ),
            _DAY_COUNT,
        ),
        "by_check": pa.Column(pl.String, nullable=False),
        "coverage": pa.Column(pl.Float64, checks=[pa.Check.ge(0), pa.Check.le(1)], nullable=False),
        "status": pa.Column(pl.String, checks=pa.Check.isin(["ok", "suspect", "failed"]), nullable=False),
    },
    name="SymbolDays",
    strict=True,
    unique=["venue", "symbol", "day"],
    checks=[
        pa.Check(
            lambda d: d.lazyframe.select((pl.col("quarantined_unexplained") <= pl.col("quarantined")).alias("q")),
            name="unexplained_within_quarantined",
        )
    ],
)

BARS_COLUMNS = [
    "venue",
    "symbol",
    "ts",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "trades",
    "quote_volume",
    "source_id",
    "version",
]
# Order flow and what the prices are (issue 14): in bars_1m beside the core columns; a frame without them
# still inserts (the table defaults: null flow, trade prices, vendor candles).
ORDER_FLOW_COLUMNS = ["buy_volume", "sell_volume", "vwap", "price_side", "bar_source"]
BAR_TABLE_COLUMNS = [*BARS_COLUMNS, *ORDER_FLOW_COLUMNS]


@dataclass(frozen=True)
class Boundary:
    """A contract at an ingest boundary and the part of its data rules no gate check proves.

    ``per_row``: columns whose rules must hold on every row (checked on those columns);
    ``per_value``: columns constant per file (identity, price side): their rules are checked on the distinct
    combinations, which is the same verdict for a fraction of the work."""

    schema: pa.DataFrameSchema
    per_row: tuple[str, ...] = ()
    per_value: tuple[str, ...] = ()

    def uncovered(self, frame: pl.DataFrame) -> list[tuple[pa.DataFrameSchema, pl.DataFrame]]:
        parts = []
        rows = [c for c in self.per_row if c in frame.columns]
        values = [c for c in self.per_value if c in frame.columns]
        if rows:
            parts.append((self._columns(rows), frame.select(rows)))
        for name in values:  # each rule is about one column: its distinct values decide it
            parts.append((self._columns([name]), frame.select(_distinct(name))))
        return parts

    def _columns(self, names: list[str]) -> pa.DataFrameSchema:
        """The contract's own column rules for ``names`` (no frame-wide checks: those are the gate's)."""
        return pa.DataFrameSchema({n: self.schema.columns[n] for n in names}, name=self.schema.name)


# What the gate proves on every row (so the boundaries below leave it out): ts present and minute-aligned
# (row_unparseable, ts_not_minute_aligned), prices finite and positive (price_not_finite_positive), volume
# finite and >= 0 (volume_negative), OHLC consistent (high_below_open_close, low_above_open_close,
# high_below_low), one bar per (file, symbol, minute) (exact repeats dropped, duplicate_ts_conflict).
# Not proved by any gate check, so kept: line numbers, identity patterns, ids and counts present,
# order-flow bounds, price side and bar source vocabularies.
_IDENTITY_VALUES = ("venue", "symbol")
_COUNTS = ("source_id", "version", "trades", "line")
INGEST_BOUNDARIES = {
    "RawBars": Boundary(RawBars, per_row=("line",)),
    "CandidateBars": Boundary(
        CandidateBars, per_row=_COUNTS, per_value=(*_IDENTITY_VALUES, "price_side", "bar_source")
    ),
    "Bars": Boundary(
        Bars,
        per_row=("source_id", "version", "trades", "buy_volume", "sell_volume", "vwap"),
        per_value=(*_IDENTITY_VALUES, "price_side", "bar_source"),
    ),
}


def _distinct(name: str) -> pl.Expr:
    """The distinct values of a column that is constant over long runs (one file's identity): the first row
    of each run (adjacent compares, no hashing of every row), then unique over those few."""
    col = pl.col(name)
    return col.filter(col.ne_missing(col.shift()).fill_null(True)).unique()


def enforce_boundary(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Enforce the ingest contract ``name`` cheaply: its schema (column set, types, strictness) on the frame,
    then only the rules the gate does not prove (:data:`INGEST_BOUNDARIES`). Raises like :func:`enforce`."""
    boundary = INGEST_BOUNDARIES[name]
    with config_context(validation_depth=ValidationDepth.SCHEMA_ONLY):
        checked = enforce(boundary.schema, frame)
    for schema, part in boundary.uncovered(frame):
        enforce(schema, part)
    return checked


def enforce(schema: pa.DataFrameSchema, frame: pl.DataFrame) -> pl.DataFrame:
    """Validate ``frame`` lazily; raise one :class:`ContractViolation` listing every failure."""
    try:
        return schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        raise ContractViolation(schema.name or "contract", _summarise(exc)) from exc
    except SchemaError as exc:
        raise ContractViolation(schema.name or "contract", str(exc).splitlines()[0]) from exc
    except Exception as exc:  # pandera itself failed (e.g. building its report of UInt64 ids): still a verdict
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ContractViolation(schema.name or "contract", f"{type(exc).__name__}: {first}") from exc


def _summarise(exc: SchemaErrors) -> str:
    cases = exc.failure_cases
    if isinstance(cases, pl.DataFrame) and cases.height and "check" in cases.columns:
        counts = cases.group_by(["column", "check"]).len().sort("len", descending=True).head(8)
        return "; ".join(f"{r['column']}: {r['check']} ({r['len']} cases)" for r in counts.iter_rows(named=True))
    return str(exc).splitlines()[0]
