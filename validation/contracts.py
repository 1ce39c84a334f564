"""pandera contracts at the stage boundaries of the ingest path.

``RawBars``   what a reader hands over: the raw column set and types; rows may still be broken.
``CandidateBars`` after normalisation: identity columns valid on every row.
``Bars``      what may enter ``bars_1m``: every data rule holds on every row (column for column with the table).
Validation is lazy (every failure collected) and raised as :class:`core.errors.ContractViolation`.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaError, SchemaErrors

from core.errors import ContractViolation
from core.formats.frame import RAW_SCHEMA, TS_TYPE
from core.identifiers import SYMBOL_PATTERN, VENUE_PATTERN
from validation.catalogue import CHECKS

_PRICES = ("open", "high", "low", "close")


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
