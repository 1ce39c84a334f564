"""Which cold files a change touches, and their contents: pure functions of dates and 1m bars."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from core.cold_layout import FINGERPRINT_SCHEMA, file_path, parse_file_path
from core.features import compute_features
from core.resample import resample_all

RESAMPLED = ("5m", "15m", "1h", "4h", "1d")

# Months one cache batch rewrites (of one symbol): bounds a batch's memory (~130k 1m bars with lookback).
MONTHS_PER_BATCH = 3
# Symbol-months one cache task rewrites, batch after batch (memory stays one batch's): each task costs a Prefect
# task run and a warehouse client (~0.1 s together), worth paying once per ~1M bars, not once per symbol.
MONTHS_PER_TASK = 24


__all__ = ["FINGERPRINT_SCHEMA", "Affected", "Output", "affected", "build_outputs", "plan_batches"]


@dataclass(frozen=True)
class Affected:
    days: tuple[date, ...]  # the changed days
    months: tuple[date, ...]  # first of each month whose files (every dataset) are rewritten whole
    feature_days: tuple[date, ...]  # changed days and the day after each (their features look back)

    def fetch_range(self) -> tuple[datetime, datetime]:
        """1m bars needed: the whole affected months with a day either side (sessions cross midnight). The
        features' lookback before the first month is read separately (``LOOKBACK_BARS``)."""
        return _midnight(self.months[0]) - timedelta(days=1), _midnight(_next_month(self.months[-1])) + timedelta(
            days=1
        )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def _month(day: date) -> date:
    return date(day.year, day.month, 1)


def affected(changed: Iterable[date], existing: Iterable[date]) -> Affected:
    """A changed day rewrites the files of its month (every dataset: a file holds a symbol-month), of a
    neighbouring month when it is a month's first or last day (FX sessions cross midnight UTC), and of the
    month of the next day that has data (that day's features look back into the changed day)."""
    days = sorted(set(changed))
    have = sorted(set(existing))
    present = set(have)
    following = []
    for day in days:
        after = bisect.bisect_right(have, day)
        if after < len(have):
            following.append(have[after])
    months = {
        _month(d)
        for day in days
        for d in (day - timedelta(days=1), day, day + timedelta(days=1))
        if d == day or d in present
    }
    months |= {_month(d) for d in following}
    return Affected(tuple(days), tuple(sorted(months)), tuple(sorted(set(days) | set(following))))


def month_chunks(months: Iterable[date], size: int) -> list[tuple[date, ...]]:
    """Consecutive months in groups of at most ``size``; a gap starts a new group (a batch reads one range)."""
    chunks: list[list[date]] = []
    for month in sorted(set(months)):
        last = chunks[-1][-1] if chunks else None
        if last is None or len(chunks[-1]) >= size or _next_month(last) != month:
            chunks.append([month])
        else:
            chunks[-1].append(month)
    return [tuple(chunk) for chunk in chunks]


def plan_batches(changed: pl.DataFrame, existing: pl.DataFrame, months_per_batch: int) -> list[dict[str, Any]]:
    """One batch per symbol and run of at most ``months_per_batch`` affected months: a batch reads and writes
    only its months, so memory is bounded by the batch, not by a symbol's history. ``changed`` and ``existing``
    are (venue, symbol, day) frames; each changed day goes to the batch that rewrites its month. ``history``
    says whether the symbol has days before the batch's first month (whose bars the features look back on)."""
    have: dict[tuple[str, str], list[date]] = {}
    for venue, symbol, day in existing.select(_KEY).iter_rows():
        have.setdefault((venue, symbol), []).append(day)
    work: dict[tuple[str, str], list[date]] = {}
    for venue, symbol, day in changed.select(_KEY).iter_rows():
        work.setdefault((venue, symbol), []).append(day)
    batches: list[dict[str, Any]] = []
    for (venue, symbol), days in sorted(work.items()):
        what = affected(days, have.get((venue, symbol), []))
        first = min(have.get((venue, symbol), days))
        for chunk in month_chunks(what.months, months_per_batch):
            mine = [d for d in what.days if _month(d) in chunk]
            # history: bars before the batch's first month, the features' lookback (no history: nothing to read)
            batch = {"venue": venue, "symbol": symbol, "days": mine, "months": list(chunk), "history": first < chunk[0]}
            batches.append(batch)
    return batches


def group_batches(
    batches: list[dict[str, Any]], workers: int, months_per_task: int = MONTHS_PER_TASK
) -> list[list[int]]:
    """Indexes of ``batches`` for each task, in plan order: consecutive batches up to ``months_per_task``
    symbol-months, but at least two tasks per worker while there are batches to share (so the workers
    stay busy to the end). A task runs its batches one after another, so its memory is one batch's."""
    if not batches:
        return []
    months = [len(b["months"]) for b in batches]
    share = -(-sum(months) // max(1, 2 * workers))  # ceil: the months each task gets when split evenly
    budget = max(1, min(months_per_task, share))
    groups: list[list[int]] = [[]]
    held = 0
    for index, size in enumerate(months):
        if groups[-1] and held + size > budget:
            groups.append([])
            held = 0
        groups[-1].append(index)
        held += size
    return groups


def written_summary(frames: Iterable[pl.DataFrame]) -> dict[str, Any]:
    """Files and rows written, and files per dataset, from the manifest rows of a build (frames)."""
    parts = [f.select("dataset", "rows") for f in frames]
    files = pl.concat(parts) if parts else pl.DataFrame(schema={"dataset": pl.String, "rows": pl.UInt64})
    per_dataset = files.get_column("dataset").value_counts().sort("dataset").iter_rows()
    return {"files": files.height, "rows": int(files.get_column("rows").sum()), "by_dataset": dict(per_dataset)}


@dataclass(frozen=True)
class Output:
    dataset: str
    period: date
    frame: pl.DataFrame  # without venue/symbol: they live in the path


def _by_month(frame: pl.DataFrame, months: Iterable[date]) -> dict[date, pl.DataFrame]:
    """The rows of each of ``months`` (firsts of month) by UTC month: zero-copy slices when ``ts`` is sorted
    (one symbol, as every build computes it), else split in one pass."""
    wanted = sorted(set(months))
    if not wanted or frame.height == 0:
        return {}
    ts = frame.get_column("ts")
    if not ts.is_sorted():
        parts = frame.with_columns(ts.dt.truncate("1mo").dt.date().alias("_period")).partition_by(
            "_period", as_dict=True, include_key=False
        )
        return {key[0]: part for key, part in parts.items() if key[0] in wanted}
    edges = pl.Series([_midnight(m) for m in wanted] + [_midnight(_next_month(m)) for m in wanted])
    at = ts.search_sorted(edges.cast(ts.dtype)).to_list()
    n = len(wanted)
    return {m: frame.slice(at[i], at[n + i] - at[i]) for i, m in enumerate(wanted) if at[n + i] > at[i]}


def _without_identity(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` without venue and symbol (they live in the path): picked column by column, no query."""
    return pl.DataFrame([frame.get_column(c) for c in frame.columns if c not in ("venue", "symbol")])


def build_outputs(bars: pl.DataFrame, what: Affected, session: str, now: datetime) -> list[Output]:
    """Every file the change touches, computed from the 1m ``bars`` of one symbol (``fetch_range`` plus the
    features' lookback before it): each affected month of every dataset, whole.

    Each dataset is computed once over the fetched range (the five resamples together) and then cut by month.
    """
    if not what.months:
        return []
    datasets = {"bars_1m": bars}
    datasets |= {f"bars_{tf}": frame for tf, frame in resample_all(bars, RESAMPLED, session, now).items()}
    datasets["features_1m"] = compute_features(bars, session)
    outputs = [
        Output(dataset, month, part)
        for dataset, frame in datasets.items()
        for month, part in _by_month(_without_identity(frame), what.months).items()
    ]
    return sorted((o for o in outputs if o.frame.height), key=lambda o: (o.dataset, o.period))


_UNITS_PER_DAY = {"ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}
_EPOCH = date(1970, 1, 1)


def day_rows(frame: pl.DataFrame) -> list[tuple[date, int]]:
    """(UTC day, rows) of each day of a time-ordered 1m frame, in order: the row groups of a day-grouped file.

    A UTC (or naive) ``ts`` gives its day by integer division of its physical value: the same days as
    ``dt.date()``, which converts every row through the time zone (~10x dearer)."""
    if frame.height == 0:
        return []
    ts = frame.get_column("ts")
    dtype = ts.dtype
    if isinstance(dtype, pl.Datetime) and dtype.time_zone in (None, "UTC") and ts.null_count() == 0:
        number = ts.to_physical().to_numpy() // _UNITS_PER_DAY[dtype.time_unit]
        first_days = None
    else:
        dates = ts.dt.date()
        number = dates.to_physical().to_numpy()
        first_days = dates
    starts = np.flatnonzero(np.diff(number, prepend=number[0] - 1))
    sizes = np.diff(starts, append=frame.height)
    if first_days is not None:
        days = first_days.gather(starts).to_list()
    else:
        days = [_EPOCH + timedelta(days=int(n)) for n in number[starts]]
    return list(zip(days, sizes.tolist(), strict=True))


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
        path = file_path("bars_1m", row["venue"], row["symbol"], row["day"])
        day = f"day {row['day'].isoformat()}: "
        if row["rows"] is None:
            if row["cold_rows"] is not None:
                problems.append({"path": path, "problem": day + "a cold day the warm tier no longer holds"})
        elif row["cold_rows"] is None:
            problems.append({"path": path, "problem": day + f"warm holds {row['rows']} rows for this day, cold none"})
        elif row["cold_rows"] != row["rows"]:
            problems.append({"path": path, "problem": day + f"{row['cold_rows']} rows in cold, {row['rows']} in warm"})
        elif row["hash_built"] is None or row["hash_built"] != row["hash"] or row["rows_built"] != row["rows"]:
            problems.append({"path": path, "problem": day + "built from older warm content (content hash differs)"})
    return problems


def repair_days(paths: Iterable[str], current: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Symbol-days to rebuild so that every flagged cold file is rewritten, and the flagged files no warm day
    backs (stale: to delete). A file (a symbol-month) is rewritten by rebuilding any one of its month's days."""
    days_of: dict[tuple[str, str], list[date]] = {}
    for venue, symbol, day in current.select(_KEY).iter_rows():
        days_of.setdefault((venue, symbol), []).append(day)
    wanted: set[tuple[str, str, date]] = set()
    stale: list[str] = []
    for path in sorted(set(paths)):
        parsed = parse_file_path(path)
        if parsed is None:
            continue
        _dataset, venue, symbol, period = parsed
        have = days_of.get((venue, symbol), [])
        match = [d for d in have if d.strftime("%Y-%m") == period][:1]
        if match:
            wanted.add((venue, symbol, match[0]))
        else:
            stale.append(path)
    frame = pl.DataFrame(sorted(wanted), schema={"venue": pl.String, "symbol": pl.String, "day": pl.Date}, orient="row")
    return frame, stale
