"""pandera contracts at the stage boundaries of the ingest path.

``RawBars``   what a reader hands over: the raw column set and types; rows may still be broken.
``CandidateBars`` after normalisation: identity columns valid on every row.
``Bars``      what may enter ``bars_1m``: every data rule holds on every row (column for column with the table).
Validation is lazy (every failure collected) and raised as :class:`core.errors.ContractViolation`.
"""

from __future__ import annotations

import polars as pl
import pandera.polars as pa
from pandera.errors import SchemaError, SchemaErrors

from core.errors import ContractViolation
from core.formats.frame import RAW_SCHEMA, TS_TYPE
from core.identifiers import SYMBOL_PATTERN, VENUE_PATTERN

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
        **{c: pa.Column(pl.Float64, checks=[pa.Check.gt(0), pa.Check.lt(float("inf"))], nullable=False) for c in _PRICES},
        "volume": pa.Column(pl.Float64, checks=[pa.Check.ge(0), pa.Check.lt(float("inf"))], nullable=False),
        "trades": pa.Column(pl.UInt32, nullable=False),
        # NaN means "the source does not say"; pandera counts NaN as null, so nullable it must be.
        "quote_volume": pa.Column(pl.Float64, nullable=True),
    },
    name="Bars",
    strict="filter",
    ordered=False,
    unique=["venue", "symbol", "ts"],
    checks=[pa.Check(_ohlc_consistent, name="ohlc_consistent")],
)

BARS_COLUMNS = ["venue", "symbol", "ts", "open", "high", "low", "close", "volume", "trades", "quote_volume", "source_id", "version"]


def enforce(schema: pa.DataFrameSchema, frame: pl.DataFrame) -> pl.DataFrame:
    """Validate ``frame`` lazily; raise one :class:`ContractViolation` listing every failure."""
    try:
        return schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        raise ContractViolation(schema.name or "contract", _summarise(exc)) from exc
    except SchemaError as exc:
        raise ContractViolation(schema.name or "contract", str(exc).splitlines()[0]) from exc


def _summarise(exc: SchemaErrors) -> str:
    cases = exc.failure_cases
    if isinstance(cases, pl.DataFrame) and cases.height and "check" in cases.columns:
        counts = cases.group_by(["column", "check"]).len().sort("len", descending=True).head(8)
        return "; ".join(f"{r['column']}: {r['check']} ({r['len']} cases)" for r in counts.iter_rows(named=True))
    return str(exc).splitlines()[0]
