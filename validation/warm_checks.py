"""The validate stage: run the catalogue over bars read back from the warm store.

What one file cannot show shows here: a gap that spans two daily files, a stale run crossing
midnight, a spike whose context is in yesterday's file. Bars are read with a lookback and a
lookahead around the range so intervals get their true extent; an interval belongs to a range when
it overlaps it, a point anomaly when its minute is inside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from core.formats.frame import TS_TYPE
from core.quality_rules import CheckThresholds, thresholds_for
from core.sessions import session_of
from validation.blocks import block_ids, block_keys
from validation.calendars import calendar_of, expected_minutes
from validation.catalogue import ANOMALY_SCHEMA, INTERVAL_CHECKS, empty_anomalies
from validation.contracts import Anomalies, enforce
from validation.gaps import discount_quarantined, find_gaps, find_outside_session, grid_positions
from validation.known_events import Allowlist, annotate
from validation.statistical import find_spikes, find_stale_runs, find_volume_outliers, find_zero_volume_runs

_DAY_KEY = 1_000_000  # block * _DAY_KEY + epoch day: one integer per symbol-day
LOOKBACK = timedelta(days=1)
LOOKAHEAD = timedelta(days=1)

DAY_COUNTS_SCHEMA: dict[str, pl.DataType] = {
    "venue": pl.String(),
    "symbol": pl.String(),
    "day": pl.Date(),
    "expected": pl.UInt32(),
    "present": pl.UInt32(),
    "off_session": pl.UInt32(),
}


@dataclass(frozen=True)
class ValidationRange:
    """UTC days ``first``..``last`` inclusive, and the wider stretch read to judge them."""

    first: date
    last: date
    now: datetime

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=self.now.tzinfo)

    @property
    def end(self) -> datetime:
        return min(
            datetime(self.last.year, self.last.month, self.last.day, tzinfo=self.now.tzinfo) + timedelta(days=1),
            self._now_minute,
        )

    @property
    def load_start(self) -> datetime:
        return self.start - LOOKBACK

    @property
    def load_end(self) -> datetime:
        return min(self.end + LOOKAHEAD, self._now_minute)

    @property
    def _now_minute(self) -> datetime:
        return self.now.replace(second=0, microsecond=0)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


@dataclass(frozen=True)
class CheckRules:
    """Per-venue knowledge the checks need, taken from the settings."""

    venue_sessions: Mapping[str, str] = field(default_factory=dict)
    venue_calendars: Mapping[str, str] = field(default_factory=dict)
    thresholds: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def session(self, venue: str) -> str:
        return session_of(venue, self.venue_sessions)

    def for_venue(self, venue: str) -> CheckThresholds:
        return thresholds_for(venue, self.session(venue), self.thresholds)


@dataclass(frozen=True)
class CheckOutcome:
    anomalies: pl.DataFrame  # ANOMALY_SCHEMA, only those belonging to the range
    day_counts: pl.DataFrame  # DAY_COUNTS_SCHEMA: expected/present/off-session bars per symbol-day of the range


RETIRE_AFTER = timedelta(days=7)  # a symbol silent this long after its last bar is retired, not gapped


def expected_windows(
    symbols: pl.DataFrame, rng: ValidationRange, retire_after: timedelta = RETIRE_AFTER
) -> pl.DataFrame:
    """Where each symbol is expected to have bars: (venue, symbol, start, end), within what was read.

    ``symbols``: venue, symbol, first_seen, last_seen. Expectations start at the UTC midnight of the day
    of its first bar — a symbol whose first file lacks the day's opening minutes has a gap there, while
    the days before its listing expect nothing — and end ``retire_after`` past its last bar (a feed that
    stopped is a gap for a week, then the symbol counts as retired).
    """
    ts = pl.Datetime("ms", "UTC")
    return symbols.select(
        "venue",
        "symbol",
        pl.max_horizontal(pl.col("first_seen").cast(ts).dt.truncate("1d"), pl.lit(rng.load_start).cast(ts)).alias(
            "start"
        ),
        pl.min_horizontal(
            pl.col("last_seen").cast(ts) + pl.duration(days=retire_after.days), pl.lit(rng.load_end).cast(ts)
        ).alias("end"),
    )


def clip_gaps(gaps: pl.DataFrame, grid: pl.Series, rng: ValidationRange) -> pl.DataFrame:
    """Gaps cut to the validated range, each with its true length inside it (grid minutes, not wall minutes).

    Bars are read a day beyond each edge so a gap is found whole; what is reported for this range is
    only its part inside ``[rng.start, rng.end)`` — a missing 23:59 on the last day is one minute, not
    one minute plus the whole unread (or not yet delivered) next day.
    """
    if gaps.height == 0 or grid.len() == 0:
        return gaps
    grid = grid.cast(TS_TYPE)
    last_minute = rng.end - timedelta(minutes=1)
    lo = gaps["ts"].cast(TS_TYPE).clip(lower_bound=rng.start)
    hi = gaps["end_ts"].cast(TS_TYPE).clip(upper_bound=last_minute)
    g0 = grid.search_sorted(lo, side="left").cast(pl.Int64)
    g1 = grid.search_sorted(hi, side="right").cast(pl.Int64) - 1
    clipped = gaps.with_columns(_g0=g0, _g1=g1).filter((pl.col("_g1") >= pl.col("_g0")) & (pl.col("_g0") < grid.len()))
    if clipped.height == 0:
        return clipped.drop("_g0", "_g1")
    return (
        clipped.with_columns(
            ts=grid.gather(clipped["_g0"]),
            end_ts=grid.gather(clipped["_g1"]),
            minutes=(clipped["_g1"] - clipped["_g0"] + 1).cast(gaps.schema["minutes"]),
        )
        .with_columns(
            detail=pl.format(
                "{} expected minutes missing: {} .. {} UTC",
                "minutes",
                pl.col("ts").dt.strftime("%Y-%m-%d %H:%M"),
                pl.col("end_ts").dt.strftime("%Y-%m-%d %H:%M"),
            )
        )
        .drop("_g0", "_g1")
    )


def _in_range(anomalies: pl.DataFrame, rng: ValidationRange) -> pl.DataFrame:
    start, end = pl.lit(rng.start).cast(TS_TYPE), pl.lit(rng.end).cast(TS_TYPE)
    interval = pl.col("check").is_in(list(INTERVAL_CHECKS))
    return anomalies.filter(
        pl.when(interval)
        .then((pl.col("ts") < end) & (pl.col("end_ts") >= start))
        .otherwise((pl.col("ts") >= start) & (pl.col("ts") < end))
    )


def _day_counts(
    bars: pl.DataFrame,
    grid: pl.Series,
    windows: pl.DataFrame,
    rng: ValidationRange,
    placed: tuple[pl.Series, pl.Series],
    ids: pl.Series,
) -> pl.DataFrame:
    days = (
        pl.DataFrame({"day": rng.days()})
        .with_columns(
            d0=pl.col("day").cast(pl.Datetime("ms")).dt.replace_time_zone("UTC"),
        )
        .with_columns(d1=pl.min_horizontal(pl.col("d0") + pl.duration(days=1), pl.lit(rng.end).cast(TS_TYPE)))
    )
    cells = (
        windows.join(days, how="cross")
        .with_columns(
            lo=pl.max_horizontal(pl.col("start").cast(TS_TYPE), "d0"),
            hi=pl.min_horizontal(pl.col("end").cast(TS_TYPE), "d1"),
        )
        .filter(pl.col("hi") > pl.col("lo"))
    )
    expected = (
        cells.select(
            "venue",
            "symbol",
            "day",
            (
                grid.search_sorted(cells["hi"], side="left").cast(pl.Int64)
                - grid.search_sorted(cells["lo"], side="left").cast(pl.Int64)
            ).alias("expected"),
        )
        if cells.height
        else pl.DataFrame(schema={"venue": pl.String, "symbol": pl.String, "day": pl.Date, "expected": pl.Int64})
    )
    # Group on one integer (block number, UTC day) and name the blocks afterwards: strings or dates
    # on every row cost several times more. Days outside the range are dropped once aggregated.
    key = ids * _DAY_KEY + bars["ts"].dt.epoch("ms") // 86_400_000
    present = pl.DataFrame({"k": key, "_on": placed[1]}).group_by("k").agg(present=pl.col("_on").sum(), n=pl.len())
    present = present.select(
        (pl.col("k") // _DAY_KEY).alias("b"),
        (pl.col("k") % _DAY_KEY).cast(pl.Int32).cast(pl.Date).alias("day"),
        "present",
        (pl.col("n") - pl.col("present")).alias("off_session"),
    ).filter(pl.col("day").is_between(rng.first, (rng.end - timedelta(milliseconds=1)).date()))
    present = present.join(block_keys(bars, ids), on="b").drop("b")
    counts = expected.join(present, on=["venue", "symbol", "day"], how="full", coalesce=True).fill_null(0)
    return counts.filter((pl.col("expected") > 0) | (pl.col("present") > 0) | (pl.col("off_session") > 0)).select(
        *(pl.col(c).cast(t) for c, t in DAY_COUNTS_SCHEMA.items())
    )


def settle_findings(
    found: pl.DataFrame, quarantined: pl.DataFrame, duplicates: pl.DataFrame, allowlist: Allowlist
) -> pl.DataFrame:
    """What a batch writes to ``anomalies``: the checks' findings with quarantined minutes taken out of the gaps,
    the cross-file conflicts added, known events annotated, the ``Anomalies`` contract enforced."""
    is_gap = pl.col("check") == "gap"
    gaps = discount_quarantined(found.filter(is_gap), quarantined)
    merged = pl.concat([found.filter(~is_gap), gaps, duplicates], how="vertical")
    return enforce(Anomalies, annotate(merged, allowlist).select(*ANOMALY_SCHEMA, "known_event"))


def started_before(found: pl.DataFrame, start: datetime) -> pl.DataFrame:
    """Intervals found now that began before the range: an older, shorter copy of each may lie outside it."""
    early = pl.col("check").is_in(list(INTERVAL_CHECKS)) & (pl.col("ts") < pl.lit(start).cast(TS_TYPE))
    return found.filter(early).select("venue", "symbol", "check", "ts", "end_ts")


def check_bars(bars: pl.DataFrame, windows: pl.DataFrame, rng: ValidationRange, rules: CheckRules) -> CheckOutcome:
    """Every validate-stage check over ``bars`` (venue, symbol, ts, open, high, low, close, volume, source_id,
    sorted by venue, symbol, ts, read over ``[rng.load_start, rng.load_end)``).

    ``windows`` (venue, symbol, start, end) says where each symbol is expected to have bars — from its
    first bar ever (no gap before a listing) to the end of what was read.
    """
    # One contiguous buffer per column: shifts and gathers over a frame in many chunks (Parquet row
    # groups, Arrow batches from the warehouse) cost two to three times more than the copy.
    bars = bars.select(
        "venue", "symbol", "ts", "high", "low", "close", "volume", "source_id"
    ).rechunk()  # only what the checks read
    found: list[pl.DataFrame] = []
    counts: list[pl.DataFrame] = []
    venues = sorted(set(windows["venue"].to_list()) | set(bars["venue"].unique().to_list()))
    for venue in venues:
        session, th = rules.session(venue), rules.for_venue(venue)
        grid = expected_minutes(session, rng.load_start, rng.load_end, calendar_of(venue, rules.venue_calendars))
        vb = bars.filter(pl.col("venue") == venue) if len(venues) > 1 else bars
        vw = windows.filter(pl.col("venue") == venue)
        placed = grid_positions(grid, vb["ts"])
        ids = block_ids(vb)
        # A symbol with zero volume on every bar read (an index, a quote feed) publishes no volume:
        # judge it on prices alone rather than report it as one endless zero-volume run.
        silent = vb.group_by("symbol").agg(pl.col("volume").max()).filter(pl.col("volume") <= 0)["symbol"]
        traded, quoted = (
            (vb, vb.clear())
            if silent.len() == 0
            else (vb.filter(~pl.col("symbol").is_in(silent)), vb.filter(pl.col("symbol").is_in(silent)))
        )
        found += [
            clip_gaps(find_gaps(vb, grid, vw, th.gap_min_minutes, placed, ids), grid, rng),
            find_outside_session(vb, grid, session, placed),
            find_spikes(vb, th, ids),
            find_stale_runs(traded, th),
            find_stale_runs(quoted, th.model_copy(update={"volume_known": False})),
            find_zero_volume_runs(traded, th),
            find_volume_outliers(traded, th, ids if traded.height == vb.height else None),
        ]
        counts.append(_day_counts(vb, grid, vw, rng, placed, ids))
    anomalies = pl.concat([empty_anomalies(), *found], how="vertical") if found else empty_anomalies()
    day_counts = pl.concat(counts, how="vertical") if counts else pl.DataFrame(schema=DAY_COUNTS_SCHEMA)
    return CheckOutcome(
        _in_range(anomalies, rng).select(list(ANOMALY_SCHEMA)).sort("venue", "symbol", "ts", "check"), day_counts
    )
