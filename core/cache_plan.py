"""Which cold files a change touches, and their contents: pure functions of dates and 1m bars."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import polars as pl

from core.features import compute_features
from core.resample import TIMEFRAMES, resample


@dataclass(frozen=True)
class Affected:
    days: tuple[date, ...]  # daily files: bars_1m, bars_5m, bars_15m
    months: tuple[date, ...]  # monthly files (first of month): bars_1h, bars_4h, bars_1d
    feature_days: tuple[date, ...]  # features_1m: changed days and the day after each (lookback)

    def fetch_range(self) -> tuple[datetime, datetime]:
        """1m bars needed: whole affected months with a day either side (sessions cross midnight)."""
        starts = [_midnight(d) for d in self.days] + [_midnight(m) - timedelta(days=1) for m in self.months]
        ends = [_midnight(d) + timedelta(days=1) for d in (*self.days, *self.feature_days)]
        ends += [_midnight(_next_month(m)) + timedelta(days=1) for m in self.months]
        return min(starts), max(ends)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def affected(changed: Iterable[date], existing: Iterable[date]) -> Affected:
    """A changed day rewrites its daily files, the monthly files of its month (and a neighbouring
    month when it is a month's first or last day: FX sessions cross midnight UTC), and the features
    of the next day that has data (its windows look back into the changed day)."""
    days = sorted(set(changed))
    have = sorted(set(existing))
    months = {date(d.year, d.month, 1) for day in days for d in (day - timedelta(days=1), day, day + timedelta(days=1)) if d in set(have) or d == day}
    following = []
    for day in days:
        later = [d for d in have if d > day]
        if later:
            following.append(later[0])
    return Affected(tuple(days), tuple(sorted(months)), tuple(sorted(set(days) | set(following))))


@dataclass(frozen=True)
class Output:
    dataset: str
    period: date
    frame: pl.DataFrame  # without venue/symbol: they live in the path


def _day(frame: pl.DataFrame, day: date) -> pl.DataFrame:
    start = _midnight(day)
    return frame.filter((pl.col("ts") >= start) & (pl.col("ts") < start + timedelta(days=1)))


def _month(frame: pl.DataFrame, first: date) -> pl.DataFrame:
    return frame.filter((pl.col("ts") >= _midnight(first)) & (pl.col("ts") < _midnight(_next_month(first))))


def build_outputs(bars: pl.DataFrame, what: Affected, session: str, now: datetime) -> list[Output]:
    """Every file the change touches, computed from the 1m ``bars`` of one symbol (``fetch_range``)."""
    outputs: list[Output] = []
    strip = pl.exclude("venue", "symbol")
    for day in what.days:
        one_day = _day(bars, day)
        if one_day.height:
            outputs.append(Output("bars_1m", day, one_day.select(strip)))
            for timeframe in ("5m", "15m"):
                outputs.append(Output(f"bars_{timeframe}", day, resample(one_day, timeframe, session, now).select(strip)))
    for timeframe in ("1h", "4h", "1d"):
        resampled = resample(bars, timeframe, session, now) if what.months else None
        for first in what.months:
            assert resampled is not None
            month = _month(resampled, first)
            if month.height:
                outputs.append(Output(f"bars_{timeframe}", first, month.select(strip)))
    if what.feature_days:
        features = compute_features(bars)
        for day in what.feature_days:
            one_day = _day(features, day)
            if one_day.height:
                outputs.append(Output("features_1m", day, one_day.select(strip)))
    return [o for o in outputs if o.frame.height]


__all__ = ["TIMEFRAMES", "Affected", "Output", "affected", "build_outputs"]
