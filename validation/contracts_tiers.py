"""pandera contracts at the tier boundaries past ingest: what a cache build reads and writes, what warmup puts
into the hot tier, and the backup catalog's rows.

``CacheInputBars``  1m bars of one symbol as read from the warm tier for a cache build.
``Cold1m``          a cold 1m daily file (venue and symbol live in the path, not the file).
``ColdResampled``   a cold 5m/15m/1h/4h/1d monthly file.
``ColdFeatures``    a cold features daily file.
``HotPayload``      one hot-tier map as (key, value): ``venue:SYMBOL`` keys, JSON values.
``BackupCatalog``   rows of the ``backups`` catalog: a vocabulary of kinds and states, and what each implies.
All lazy: :func:`validation.contracts.enforce` reports every failure at once as one ``ContractViolation``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandera.polars as pa
import polars as pl

from core.cache_plan import Output
from core.features import FEATURE_COLUMNS
from core.formats.frame import TS_TYPE
from core.identifiers import SYMBOL_PATTERN, VENUE_PATTERN
from validation.contracts import BAR_SOURCES, PRICE_SIDES
from validation.fast_contracts import enforce_fast

_PRICES = ("open", "high", "low", "close")
_TS = pa.Column(TS_TYPE, nullable=False)


def _ohlc_consistent(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(
        (
            (pl.col("high") >= pl.max_horizontal("open", "close"))
            & (pl.col("low") <= pl.min_horizontal("open", "close"))
            & (pl.col("high") >= pl.col("low"))
        ).alias("ohlc_consistent")
    )


def _vwap_within_range(data: pa.PolarsData) -> pl.LazyFrame:
    """A volume-weighted typical price lies between the bar's low and high (null when there was no volume)."""
    slack = 1e-9 * pl.col("high").abs()
    return data.lazyframe.select(
        (
            pl.col("vwap").is_null()
            | ((pl.col("vwap") >= pl.col("low") - slack) & (pl.col("vwap") <= pl.col("high") + slack))
        ).alias("vwap_within_range")
    )


def _price_columns() -> dict[str, pa.Column]:
    positive = [pa.Check.gt(0), pa.Check.lt(float("inf"))]
    return {c: pa.Column(pl.Float64, checks=positive, nullable=False) for c in _PRICES}


_VOLUME = pa.Column(pl.Float64, checks=[pa.Check.ge(0), pa.Check.lt(float("inf"))], nullable=False)
# Order flow (issue 14): carried by 1m bars when present (trade-derived bars, Binance taker volume); optional so
# bar sources without it still pass.
_ORDER_FLOW = {
    **{
        c: pa.Column(pl.Float64, checks=[pa.Check.ge(0), pa.Check.lt(float("inf"))], nullable=True, required=False)
        for c in ("buy_volume", "sell_volume")
    },
    "vwap": pa.Column(pl.Float64, checks=[pa.Check.gt(0), pa.Check.lt(float("inf"))], nullable=True, required=False),
    "price_side": pa.Column(pl.String, checks=pa.Check.isin(list(PRICE_SIDES)), nullable=False, required=False),
    "bar_source": pa.Column(pl.String, checks=pa.Check.isin(list(BAR_SOURCES)), nullable=False, required=False),
}

CacheInputBars = pa.DataFrameSchema(
    {
        "venue": pa.Column(pl.String, checks=pa.Check.str_matches(VENUE_PATTERN), nullable=False),
        "symbol": pa.Column(pl.String, checks=pa.Check.str_matches(SYMBOL_PATTERN), nullable=False),
        "ts": _TS,
        **_price_columns(),
        "volume": _VOLUME,
        "trades": pa.Column(pl.UInt32, nullable=False),
        "quote_volume": pa.Column(pl.Float64, nullable=True),
        **_ORDER_FLOW,
    },
    name="CacheInputBars",
    strict=True,
    unique=["venue", "symbol", "ts"],
    checks=[pa.Check(_ohlc_consistent, name="ohlc_consistent")],
)

Cold1m = pa.DataFrameSchema(
    {
        "ts": _TS,
        **_price_columns(),
        "volume": _VOLUME,
        "trades": pa.Column(pl.UInt32, nullable=False),
        "quote_volume": pa.Column(pl.Float64, nullable=True),
        **_ORDER_FLOW,
    },
    name="Cold1m",
    strict=True,
    unique=["ts"],
    checks=[pa.Check(_ohlc_consistent, name="ohlc_consistent")],
)

ColdResampled = pa.DataFrameSchema(
    {
        "ts": _TS,
        **_price_columns(),
        "volume": _VOLUME,
        "vwap": pa.Column(pl.Float64, nullable=True),
        "minutes": pa.Column(pl.UInt32, checks=[pa.Check.ge(1), pa.Check.le(2 * 1440)], nullable=False),
        "trades": pa.Column(pl.UInt64, nullable=False),
    },
    name="ColdResampled",
    strict=True,
    unique=["ts"],
    checks=[pa.Check(_ohlc_consistent, name="ohlc_consistent"), pa.Check(_vwap_within_range, name="vwap_within_range")],
)

ColdFeatures = pa.DataFrameSchema(
    {"ts": _TS, **{c: pa.Column(pl.Float64, nullable=True) for c in FEATURE_COLUMNS}},
    name="ColdFeatures",
    strict=True,
    unique=["ts"],
)

COLD_OUTPUTS = {"bars_1m": Cold1m, "features_1m": ColdFeatures}  # every other dataset is a resample


def cold_output_contract(dataset: str) -> pa.DataFrameSchema:
    return COLD_OUTPUTS.get(dataset, ColdResampled)


def check_outputs(outputs: Sequence[Output]) -> None:
    """Every file a build is about to write, checked once per dataset (its periods stacked: ``ts`` stays unique
    across months), in one query each when they pass (pandera reports when one does not)."""
    by_dataset: dict[str, list[pl.DataFrame]] = {}
    for output in outputs:
        by_dataset.setdefault(output.dataset, []).append(output.frame)
    for dataset, frames in sorted(by_dataset.items()):
        enforce_fast(cold_output_contract(dataset), pl.concat(frames))


def _json_text(data: pa.PolarsData) -> pl.LazyFrame:
    value = pl.col(data.key)
    obj = value.str.starts_with("{") & value.str.ends_with("}")
    return data.lazyframe.select(
        (obj | (value.str.starts_with("[") & value.str.ends_with("]"))).fill_null(False).alias(data.key)
    )


HotPayload = pa.DataFrameSchema(
    {
        "key": pa.Column(
            pl.String,
            checks=pa.Check.str_matches(VENUE_PATTERN.rstrip("$") + ":" + SYMBOL_PATTERN.lstrip("^")),
            nullable=False,
            unique=True,
        ),
        "value": pa.Column(pl.String, checks=pa.Check(_json_text, name="json_object_or_list"), nullable=False),
    },
    name="HotPayload",
    strict=True,
)


_CATALOG_TS = pl.Datetime("us", "UTC")
BACKUP_KINDS = ["full", "incremental"]
BACKUP_STATES = ["running", "created", "verified", "unverified", "broken", "deleted"]


def _base_matches_kind(data: pa.PolarsData) -> pl.LazyFrame:
    """A full has no base and starts its own chain; an incremental names its base."""
    full = pl.col("kind") == "full"
    return data.lazyframe.select(
        pl.when(full)
        .then(pl.col("base").is_null() & (pl.col("chain") == pl.col("name")))
        .otherwise(pl.col("base").is_not_null() & (pl.col("base") != pl.col("name")))
        .alias("base_matches_kind")
    )


def _verified_has_time(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(
        ((pl.col("status") != "verified") | pl.col("verified_at").is_not_null()).alias("verified_has_time")
    )


BackupCatalog = pa.DataFrameSchema(
    {
        "name": pa.Column(pl.String, checks=pa.Check.str_matches(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"), unique=True),
        "kind": pa.Column(pl.String, checks=pa.Check.isin(BACKUP_KINDS), nullable=False),
        "base": pa.Column(pl.String, nullable=True),
        "chain": pa.Column(pl.String, checks=pa.Check.str_length(min_value=1), nullable=False),
        "status": pa.Column(pl.String, checks=pa.Check.isin(BACKUP_STATES), nullable=False),
        "started_at": pa.Column(_CATALOG_TS, nullable=False),
        "size_bytes": pa.Column(pl.UInt64, nullable=False),
        "rows": pa.Column(pl.UInt64, nullable=False),
        "verified_at": pa.Column(_CATALOG_TS, nullable=True),
    },
    name="BackupCatalog",
    strict="filter",
    checks=[
        pa.Check(_base_matches_kind, name="base_matches_kind"),
        pa.Check(_verified_has_time, name="verified_has_time"),
    ],
)
