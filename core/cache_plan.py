"""Which cold files a change touches, and their contents: pure functions of dates and 1m bars."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import polars as pl

from core.cold_layout import DAILY, parse_file_path
from core.features import compute_features
from core.resample import resample


@dataclass(frozen=True)
class Affected:
    days: tuple[date, ...]  # daily files: bars_1m
    months: tuple[date, ...]  # monthly files (first of month): bars_5m, bars_15m, bars_1h, bars_4h, bars_1d
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
    present = set(have)
    months = {
        date(d.year, d.month, 1)
        for day in days
        for d in (day - timedelta(days=1), day, day + timedelta(days=1))
        if d == day or d in present
    }
    following = []
    for day in days:
        after = bisect.bisect_right(have, day)
        if after < len(have):
            following.append(have[after])
    return Affected(tuple(days), tuple(sorted(months)), tuple(sorted(set(days) | set(following))))


@dataclass(frozen=True)
class Output:
    dataset: str
    period: date
    frame: pl.DataFrame  # without venue/symbol: they live in the path


def _by_day(frame: pl.DataFrame, days: Iterable[date]) -> dict[date, pl.DataFrame]:
    """Split once by UTC day (one pass), keeping only ``days``."""
    wanted = set(days)
    if not wanted or frame.height == 0:
        return {}
    parts = frame.with_columns(pl.col("ts").dt.date().alias("_period")).partition_by(
        "_period", as_dict=True, include_key=False
    )
    return {key[0]: part for key, part in parts.items() if key[0] in wanted}


def _by_month(frame: pl.DataFrame, months: Iterable[date]) -> dict[date, pl.DataFrame]:
    wanted = set(months)
    if not wanted or frame.height == 0:
        return {}
    parts = frame.with_columns(pl.col("ts").dt.truncate("1mo").dt.date().alias("_period")).partition_by(
        "_period", as_dict=True, include_key=False
    )
    return {key[0]: part for key, part in parts.items() if key[0] in wanted}


def build_outputs(bars: pl.DataFrame, what: Affected, session: str, now: datetime) -> list[Output]:
    """Every file the change touches, computed from the 1m ``bars`` of one symbol (``fetch_range``).

    Each dataset is computed once over the fetched range and then split by day or month in one pass.
    """
    outputs: list[Output] = []
    strip = pl.exclude("venue", "symbol")
    changed = _by_day(bars, what.days)
    outputs += [Output("bars_1m", day, part.select(strip)) for day, part in changed.items()]
    for timeframe in ("5m", "15m", "1h", "4h", "1d"):
        if what.months:
            resampled = resample(bars, timeframe, session, now)
            outputs += [
                Output(f"bars_{timeframe}", first, part.select(strip))
                for first, part in _by_month(resampled, what.months).items()
            ]
    if what.feature_days:
        features = compute_features(bars)
        outputs += [
            Output("features_1m", day, part.select(strip)) for day, part in _by_day(features, what.feature_days).items()
        ]
    return sorted((o for o in outputs if o.frame.height), key=lambda o: (o.dataset, o.period))


# What the warm tier holds per symbol-day (``day_fingerprints``) and what each cold day was built from.
FINGERPRINT_SCHEMA = {"venue": pl.String, "symbol": pl.String, "day": pl.Date, "rows": pl.UInt64, "hash": pl.UInt64}
_KEY = ["venue", "symbol", "day"]


def changed_symbol_days(current: pl.DataFrame, built: pl.DataFrame) -> pl.DataFrame:
    """(venue, symbol, day) whose warm content differs from what its cold files were built from, or never built."""
    joined = current.join(built.select(*_KEY, "rows", "hash"), on=_KEY, how="left", suffix="_built")
    return joined.filter(
        pl.col("rows_built").is_null()
        | (pl.col("rows") != pl.col("rows_built"))
        | (pl.col("hash") != pl.col("hash_built"))
    ).select(_KEY)


def warm_disagreements(current: pl.DataFrame, built: pl.DataFrame, cold_rows: pl.DataFrame) -> list[dict[str, str]]:
    """Every symbol-day where the cold tier does not hold what the warm tier holds now.

    ``current``: the warm fingerprints; ``built``: the fingerprints the cold days were built from;
    ``cold_rows``: (venue, symbol, day, cold_rows) of the cold 1m files, from the manifest.
    """
    joined = (
        current.join(built.select(*_KEY, "rows", "hash"), on=_KEY, how="full", suffix="_built", coalesce=True)
        .join(cold_rows.select(*_KEY, "cold_rows"), on=_KEY, how="full", coalesce=True)
        .sort(_KEY)
    )
    problems: list[dict[str, str]] = []
    for row in joined.iter_rows(named=True):
        path = f"bars_1m/venue={row['venue']}/symbol={row['symbol']}/date={row['day'].isoformat()}/data.parquet"
        if row["rows"] is None:
            if row["cold_rows"] is not None:
                problems.append({"path": path, "problem": "a cold day the warm tier no longer holds"})
        elif row["cold_rows"] is None:
            problems.append({"path": path, "problem": f"warm holds {row['rows']} rows for this day, cold none"})
        elif row["cold_rows"] != row["rows"]:
            problems.append({"path": path, "problem": f"{row['cold_rows']} rows in cold, {row['rows']} in warm"})
        elif row["hash_built"] is None or row["hash_built"] != row["hash"] or row["rows_built"] != row["rows"]:
            problems.append({"path": path, "problem": "built from older warm content (content hash differs)"})
    return problems


def repair_days(paths: Iterable[str], current: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Symbol-days to rebuild so that every flagged cold file is rewritten, and the flagged files no warm day
    backs (stale: to delete). A monthly file is rewritten by rebuilding any one of its month's days."""
    days_of: dict[tuple[str, str], list[date]] = {}
    for venue, symbol, day in current.select(_KEY).iter_rows():
        days_of.setdefault((venue, symbol), []).append(day)
    wanted: set[tuple[str, str, date]] = set()
    stale: list[str] = []
    for path in sorted(set(paths)):
        parsed = parse_file_path(path)
        if parsed is None:
            continue
        dataset, venue, symbol, period = parsed
        have = days_of.get((venue, symbol), [])
        if dataset in DAILY:
            match = [d for d in have if d.isoformat() == period]
        else:
            match = [d for d in have if d.strftime("%Y-%m") == period][:1]
        if match:
            wanted.add((venue, symbol, match[0]))
        else:
            stale.append(path)
    frame = pl.DataFrame(sorted(wanted), schema={"venue": pl.String, "symbol": pl.String, "day": pl.Date}, orient="row")
    return frame, stale
