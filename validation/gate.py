"""Gate checks: the error-severity rules a row must pass before it may enter ``bars_1m``.

Each rule is a named polars expression that is True where a row FAILS. Rows are judged together
(column-wise over a whole batch); a failing row carries the names of every rule it broke, so one
quarantine row says everything that is wrong with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

import polars as pl

from core.settings import PLAUSIBLE_BOUND_DEFAULTS

if TYPE_CHECKING:
    from core.settings import Settings

_PRICES = ("open", "high", "low", "close")
_VALUES = (*_PRICES, "volume")


def _finite_positive(col: str) -> pl.Expr:
    return pl.col(col).is_null() | ~pl.col(col).is_finite() | (pl.col(col) <= 0)


GATE_CHECKS: dict[str, pl.Expr] = {
    "row_unparseable": pl.col("raw").is_not_null() | pl.col("ts").is_null(),
    "price_not_finite_positive": pl.any_horizontal(_finite_positive(c) for c in _PRICES),
    "volume_negative": pl.col("volume").is_null() | ~pl.col("volume").is_finite() | (pl.col("volume") < 0),
    "high_below_open_close": pl.col("high") < pl.max_horizontal("open", "close"),
    "low_above_open_close": pl.col("low") > pl.min_horizontal("open", "close"),
    "high_below_low": pl.col("high") < pl.col("low"),
    "ts_not_minute_aligned": pl.col("ts").dt.epoch("ms") % 60_000 != 0,
}
DUPLICATE_CHECK = "duplicate_ts_conflict"
OUT_OF_ORDER_CHECK = "ts_out_of_order"


@dataclass(frozen=True)
class Plausibility:
    """What a bar must respect to be believable at all: a time window and per-venue magnitudes.

    Impossible values (a bar from 1850 or 2500, an epoch-seconds row in a millisecond file, a price
    of 1e308) are errors, not warnings: they would otherwise reach the hot tier as the "latest" bar.
    Real extremes are explained by the allowlist (known events), which keeps the file's ratio clean.
    """

    since: datetime
    until: datetime
    bounds: dict[str, dict[str, float]]  # venue (or "*") -> bound name -> value

    @classmethod
    def from_settings(cls, settings: Settings, now: datetime) -> Plausibility:
        since = datetime.combine(settings.plausible_since, time(), tzinfo=UTC)
        venues = {v for v in settings.plausible_bounds if v != "*"}
        return cls(
            since=since,
            until=now + timedelta(seconds=settings.plausible_future_s),
            bounds={"*": settings.bounds_for("*"), **{v: settings.bounds_for(v) for v in venues}},
        )

    @classmethod
    def default(cls, now: datetime) -> Plausibility:
        return cls(datetime(1990, 1, 1, tzinfo=UTC), now + timedelta(days=1), {"*": dict(PLAUSIBLE_BOUND_DEFAULTS)})

    def bound(self, name: str) -> pl.Expr:
        """The venue's value of bound ``name`` on every row (column-wise: one replace over the venue column)."""
        fallback = self.bounds.get("*", PLAUSIBLE_BOUND_DEFAULTS)[name]
        mapping = {v: b[name] for v, b in self.bounds.items() if v != "*"}
        if not mapping:
            return pl.lit(fallback, pl.Float64)
        return pl.col("venue").replace_strict(mapping, default=fallback, return_dtype=pl.Float64)

    def checks(self) -> dict[str, pl.Expr]:
        prices = [pl.col(c) for c in _PRICES]
        return {
            "ts_implausible": (pl.col("ts") < pl.lit(self.since).cast(pl.Datetime("ms", "UTC")))
            | (pl.col("ts") > pl.lit(self.until).cast(pl.Datetime("ms", "UTC"))),
            "price_implausible": pl.any_horizontal(
                *((p < self.bound("min_price")) | (p > self.bound("max_price")) for p in prices)
            )
            & pl.all_horizontal(*(p.is_finite() & (p > 0) for p in prices)),
            "volume_implausible": pl.col("volume").is_finite() & (pl.col("volume") > self.bound("max_volume")),
            "range_implausible": (pl.col("low") > 0)
            & pl.col("high").is_finite()
            & (pl.col("high") / pl.col("low") > self.bound("max_range_ratio")),
        }


PLAUSIBILITY_CHECKS = ("ts_implausible", "price_implausible", "volume_implausible", "range_implausible")
CHECK_NAMES = (*GATE_CHECKS, *PLAUSIBILITY_CHECKS, DUPLICATE_CHECK)

# Warnings: the row loads (ClickHouse sorts it into place) and the anomaly is recorded.
_OUT_OF_ORDER = (pl.col("source_id") == pl.col("source_id").shift()) & (pl.col("ts") < pl.col("ts").shift())


@dataclass(frozen=True)
class GateResult:
    passed: pl.DataFrame
    rejected: pl.DataFrame  # input columns + ``checks`` (list of names) + ``detail`` (+ ``explained`` after isolation)
    duplicates_dropped: pl.DataFrame  # per source_id: rows dropped as exact duplicates
    warnings: pl.DataFrame  # passed rows that broke a warn check: input columns + ``checks`` + ``detail``


def _checks(plausibility: Plausibility | None) -> dict[str, pl.Expr]:
    return {**GATE_CHECKS, **(plausibility.checks() if plausibility else {})}


def _any_failed(checks: dict[str, pl.Expr]) -> pl.Expr:
    """One boolean pass over every row: does it break any check (the common answer, no, costs no lists)."""
    return pl.any_horizontal(expr.fill_null(False) for expr in checks.values())


def _failed_checks(frame: pl.DataFrame, checks: dict[str, pl.Expr]) -> pl.Series:
    """The names of the checks each row breaks; run only on the failing rows (reasons are built for them alone)."""
    flags = [pl.when(expr.fill_null(False)).then(pl.lit(name)) for name, expr in checks.items()]
    return frame.select(pl.concat_list(flags).list.drop_nulls().alias("checks")).to_series()


def _strictly_ordered(frame: pl.DataFrame) -> bool:
    """True when no (source_id, symbol, ts) can repeat, proved by adjacent compares only (no hashing): each
    file's series is one contiguous run and its times strictly rise — what a batch of clean files is."""
    same = (pl.col("source_id") == pl.col("source_id").shift()) & (pl.col("symbol") == pl.col("symbol").shift())
    starts = frame.filter(~same.fill_null(False)).select("source_id", "symbol")
    if starts.height != starts.unique().height:  # a file's series comes back after another: hash after all
        return False
    rising = pl.when(same.fill_null(False)).then(pl.col("ts") > pl.col("ts").shift())
    return bool(frame.select(rising.fill_null(True).all() & pl.col("ts").is_not_null().all()).item())


def _duplicate_flags(frame: pl.DataFrame) -> pl.DataFrame:
    """Within one source file (and symbol: a quote file holds a .BID and an .ASK series): exact repeats are
    dropped silently, conflicting repeats are rejected."""
    key = ["source_id", "symbol", "ts"]
    if _strictly_ordered(frame) or not frame.select(pl.struct(key).is_duplicated().any()).item():
        return frame.with_columns(pl.lit(False).alias("_conflict"), pl.lit(False).alias("_repeat"))
    values = pl.struct(*_VALUES)
    return frame.with_columns(
        (pl.col("ts").is_not_null() & (values.n_unique().over(key) > 1)).alias("_conflict"),
        (
            pl.col("ts").is_not_null()
            & pl.struct(*key, *_VALUES).is_duplicated()
            & ~pl.struct(*key, *_VALUES).is_first_distinct()
        ).alias("_repeat"),
    )


def describe(frame: pl.DataFrame) -> pl.Series:
    """A readable one-line account of a rejected row's values."""
    return frame.select(
        pl.format(
            "line {}: ts={} open={} high={} low={} close={} volume={}",
            pl.col("line"),
            pl.col("ts").dt.to_string("%Y-%m-%dT%H:%M:%S%.3fZ").fill_null("?"),
            *(pl.col(c).cast(pl.String).fill_null("?") for c in _VALUES),
        ).alias("detail")
    ).to_series()


def gate_check(frame: pl.DataFrame, plausibility: Plausibility | None = None) -> GateResult:
    """Split a normalised batch into rows that may load and rows to quarantine, with reasons.

    ``plausibility`` adds the time-window and magnitude checks (the ingest path always passes one).
    Every check runs in one vectorised pass that only says whether a row fails; the list of check names
    and the readable detail are then built for the failing rows alone (a clean batch builds none)."""
    checks = _checks(plausibility)
    judged = _duplicate_flags(
        frame.with_columns(_any_failed(checks).alias("_bad"), _OUT_OF_ORDER.fill_null(False).alias("_late"))
    )
    bad = pl.col("_bad") | pl.col("_conflict")
    repeat = pl.col("_repeat") & ~bad
    dropped = judged.filter(repeat).group_by("source_id").len("rows")
    kept = judged.filter(~repeat)
    failing = kept.filter(bad)
    conflict = failing.get_column("_conflict")
    rejected = failing.drop("_bad", "_late", "_conflict", "_repeat").with_columns(_failed_checks(failing, checks))
    rejected = rejected.with_columns(
        checks=pl.when(conflict).then(pl.col("checks").list.concat(pl.lit([DUPLICATE_CHECK]))).otherwise("checks")
    )
    rejected = rejected.with_columns(describe(rejected))
    clean = kept.filter(~bad)
    late = clean.filter(pl.col("_late")).drop("_bad", "_late", "_conflict", "_repeat")
    late = late.with_columns(pl.lit([OUT_OF_ORDER_CHECK]).alias("checks"))
    late = late.with_columns(describe(late))
    return GateResult(
        passed=clean.drop("_bad", "_late", "_conflict", "_repeat"),
        rejected=rejected,
        duplicates_dropped=dropped,
        warnings=late,
    )


def isolate_files(result: GateResult, threshold: float) -> tuple[GateResult, set[int]]:
    """Quarantine whole files whose share of rejected rows exceeds ``threshold``.

    A file that is mostly broken is more likely misread than bad in a few rows: loading its
    "good" remainder would put suspect data in the warehouse. Rows a known event explains
    (``explained``, when present) do not count against their file.
    """
    passed_n = result.passed.group_by("source_id").len("ok")
    unexplained = ~pl.col("explained") if "explained" in result.rejected.columns else pl.lit(True)
    rejected_n = result.rejected.group_by("source_id").agg(unexplained.sum().alias("bad"), pl.len().alias("all_bad"))
    ratios = passed_n.join(rejected_n, on="source_id", how="full", coalesce=True).fill_null(0)
    over = ratios.filter(pl.col("bad") / (pl.col("ok") + pl.col("all_bad")) > threshold)
    doomed = set(over.get_column("source_id").to_list())
    if not doomed:
        return result, doomed
    in_doomed = pl.col("source_id").is_in(list(doomed))
    moved = result.passed.filter(in_doomed)
    moved = moved.with_columns(pl.lit(["file_error_ratio"]).alias("checks"), describe(moved))
    if "explained" in result.rejected.columns:
        moved = moved.with_columns(pl.lit(False).alias("explained"))
    rejected = pl.concat([result.rejected, moved.select(result.rejected.columns)], how="vertical")
    return GateResult(
        result.passed.filter(~in_doomed), rejected, result.duplicates_dropped, result.warnings.filter(~in_doomed)
    ), doomed
