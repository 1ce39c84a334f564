"""Gate checks for trades and quotes: the rules a tick must pass before it may count in a bar.

Like the bar gate (:mod:`validation.gate`): each rule is a polars expression True where a row FAILS,
judged column-wise over a batch; a failing row carries every rule it broke. Duplicated trade ids:
identical repeats are dropped and counted, conflicting ones are all quarantined. A trade earlier than
the one before it in the same file is a warning (it still counts: minutes are bucketed by time).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

_TRADE = pl.col("price_side") == "trade"

TRADE_CHECKS: dict[str, pl.Expr] = {
    "row_unparseable": pl.col("raw").is_not_null()
    | pl.col("ts").is_null()
    | pl.col("price").is_null()
    | pl.col("size").is_null(),
    "price_not_finite_positive": ~pl.col("price").is_finite() | (pl.col("price") <= 0),
    "size_not_positive": _TRADE & (~pl.col("size").is_finite() | (pl.col("size") <= 0)),
    "side_unknown_value": pl.col("side_bad"),
    "trade_flagged": pl.col("flagged"),
}
DUPLICATE_CHECK = "duplicate_trade_conflict"
OUT_OF_ORDER_CHECK = "ts_out_of_order"
TRADE_CHECK_NAMES = (*TRADE_CHECKS, DUPLICATE_CHECK)
_VALUES = ("ts", "price", "size", "side")
_ID_KEY = ("venue", "symbol", "price_side", "trade_id")


@dataclass(frozen=True)
class TradeGateResult:
    passed: pl.DataFrame  # trade columns
    rejected: pl.DataFrame  # trade columns + ``checks`` + ``detail``
    duplicates_dropped: int
    late: pl.DataFrame  # passed rows earlier than the row before them: trade columns + ``detail``


def describe_trades(frame: pl.DataFrame) -> pl.Series:
    return frame.select(
        pl.format(
            "line {}: ts={} price={} size={} side={} id={}",
            pl.col("line"),
            pl.col("ts").dt.to_string("%Y-%m-%dT%H:%M:%S%.6fZ").fill_null("?"),
            *(pl.col(c).cast(pl.String).fill_null("?") for c in ("price", "size", "side", "trade_id")),
        ).alias("detail")
    ).to_series()


def _may_repeat(frame: pl.DataFrame) -> bool:
    """Cheap first look: ids strictly increasing (the usual file) cannot repeat; else any repeated id value."""
    ids = pl.col("trade_id")
    if frame.height < 2 or frame.get_column("trade_id").null_count() == frame.height:
        return False
    if frame.select((ids.diff().slice(1) > 0).all()).item():
        return False
    return bool(frame.select(ids.drop_nulls().is_duplicated().any()).item())


def _dedup(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Flag conflicting repeats of a trade id (``_conflict``) and drop identical repeats."""
    with_id = pl.col("trade_id").is_not_null()
    key = pl.struct(*_ID_KEY)
    if not _may_repeat(frame) or not frame.select((key.is_duplicated() & with_id).any()).item():
        return frame.with_columns(pl.lit(False).alias("_conflict")), 0
    whole = pl.struct(*_ID_KEY, *_VALUES)
    repeat = with_id & whole.is_duplicated() & ~whole.is_first_distinct()
    dropped = int(frame.select(repeat.sum()).item())
    kept = frame.filter(~repeat)
    conflict = pl.col("trade_id").is_not_null() & (pl.struct(*_VALUES).n_unique().over(list(_ID_KEY)) > 1)
    return kept.with_columns(conflict.alias("_conflict")), dropped


def check_trades(frame: pl.DataFrame, previous_ts: object = None) -> TradeGateResult:
    """Judge one batch of one file's trades (venue/symbol filled). ``previous_ts``: the last time of the
    batch before, so a file read in batches gets the same out-of-order warnings as one read whole."""
    any_bad = frame.select(pl.any_horizontal(e.fill_null(False) for e in TRADE_CHECKS.values()).any()).item()
    if any_bad:
        flags = [pl.when(expr.fill_null(False)).then(pl.lit(name)) for name, expr in TRADE_CHECKS.items()]
        judged = frame.with_columns(pl.concat_list(flags).list.drop_nulls().alias("checks"))
    else:  # the usual batch: no row to describe, skip building per-row lists
        judged = frame.with_columns(pl.lit([], pl.List(pl.String)).alias("checks"))
    judged, dropped = _dedup(judged)
    judged = judged.with_columns(
        pl.when(pl.col("_conflict"))
        .then(pl.col("checks").list.concat(pl.lit([DUPLICATE_CHECK])))
        .otherwise(pl.col("checks"))
        .alias("checks")
    ).drop("_conflict")
    bad = pl.col("checks").list.len() > 0
    rejected = judged.filter(bad)
    rejected = rejected.with_columns(describe_trades(rejected))
    passed = judged.filter(~bad).drop("checks")
    before = pl.col("ts").shift(1, fill_value=pl.lit(previous_ts, dtype=passed.schema["ts"]))
    late = passed.filter((pl.col("ts") < before).fill_null(False))
    return TradeGateResult(passed, rejected, dropped, late.with_columns(describe_trades(late)))
