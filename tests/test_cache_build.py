"""How a cache build shares its work: batches grouped into tasks, the five resamples at once, months and days
cut from sorted frames. Pure functions: each must give what the one-at-a-time form gives."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal

import numpy as np
import polars as pl

from core.cache_plan import _by_month, day_rows, group_batches, plan_batches, written_summary
from core.resample import TIMEFRAMES, resample, resample_all

NOW = datetime(2024, 8, 1, tzinfo=UTC)


def _bars(keys: list[tuple[str, str]], start: datetime, minutes: int, step: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(9)
    frames = []
    for venue, symbol in keys:
        close = 100 + rng.standard_normal(minutes).cumsum()
        frames.append(
            pl.DataFrame(
                {
                    "venue": venue,
                    "symbol": symbol,
                    "ts": [start + timedelta(minutes=i * step) for i in range(minutes)],
                    "open": close,
                    "high": close + 1,
                    "low": close - 1,
                    "close": close + 0.5,
                    "volume": rng.random(minutes) * (rng.random(minutes) > 0.1),  # some minutes without volume
                    "trades": pl.Series(rng.integers(0, 9, minutes), dtype=pl.UInt32),
                }
            ).with_columns(pl.col("ts").cast(pl.Datetime("ms", "UTC")))
        )
    return pl.concat(frames)


def test_resample_all_gives_each_timeframe_as_resample_alone_for_every_session() -> None:
    bars = _bars([("nyse", "B"), ("nyse", "A"), ("kraken", "A")], datetime(2024, 3, 8, 13, tzinfo=UTC), 4000, 3)
    shuffled = bars.sample(fraction=1.0, shuffle=True, seed=2)
    for session in ("crypto", "fx", "equity"):
        together = resample_all(shuffled, TIMEFRAMES, session, NOW)
        for timeframe in TIMEFRAMES:
            alone = resample(bars, timeframe, session, NOW)
            assert together[timeframe].equals(alone, null_equal=True), (session, timeframe)
            assert alone.get_column("minutes").sum() <= bars.height


def test_a_symbol_whose_first_bar_is_outside_the_session_never_joins_the_previous_symbols_bar() -> None:
    """Equity: B's first minutes (before 09:30 New York) are dropped; its first kept bar falls in the same
    session bucket as A's last one and must still start a bar of its own."""
    start = datetime(2024, 6, 3, 13, 0, tzinfo=UTC)  # 09:00 New York
    a = _bars([("nyse", "A")], start, 600)
    b = _bars([("nyse", "B")], start, 600)
    daily = resample_all(pl.concat([a, b]), ["1d"], "equity", NOW)["1d"]
    assert daily.select("symbol", "minutes").rows() == [("A", 390), ("B", 390)]


def test_unfinished_bars_are_not_emitted() -> None:
    bars = _bars([("binance", "X")], datetime(2024, 6, 3, tzinfo=UTC), 130)
    now = datetime(2024, 6, 3, 2, 7, tzinfo=UTC)
    out = resample_all(bars, ["5m", "1h", "1d"], "crypto", now)
    assert out["5m"].get_column("ts").max() == datetime(2024, 6, 3, 2, 0, tzinfo=UTC)  # 02:05 ends at 02:10
    assert out["1h"].get_column("ts").to_list() == [datetime(2024, 6, 3, h, tzinfo=UTC) for h in (0, 1)]
    assert out["1d"].height == 0


def test_months_and_days_cut_from_a_sorted_frame_equal_a_split_by_value() -> None:
    bars = _bars([("binance", "X")], datetime(2024, 5, 30, 22, tzinfo=UTC), 3 * 1440, 1)
    months = [date(2024, 5, 1), date(2024, 6, 1), date(2024, 7, 1)]
    sliced = _by_month(bars, months)
    split = _by_month(bars.reverse(), months)  # not sorted: split by value
    assert list(sliced) == [date(2024, 5, 1), date(2024, 6, 1)]  # no July rows: no July file
    for month, part in sliced.items():
        assert part.equals(split[month].sort("ts"))
        assert part.get_column("ts").dt.month().unique().to_list() == [month.month]
    expected = [(date(2024, 5, 30), 120), (date(2024, 5, 31), 1440), (date(2024, 6, 1), 1440)]
    assert day_rows(bars) == [*expected, (date(2024, 6, 2), 1320)]
    assert day_rows(bars.head(0)) == []


def test_batches_are_grouped_into_tasks_in_order_by_symbol_months_with_two_tasks_per_worker() -> None:
    batches = [{"months": [date(2024, m, 1) for m in range(1, 1 + n)]} for n in (3, 3, 1, 2, 3, 1)]
    groups = group_batches(batches, workers=2)  # 13 symbol-months over 4 tasks: at most 4 each
    assert [i for g in groups for i in g] == list(range(len(batches)))  # every batch once, in plan order
    assert groups == [[0], [1, 2], [3], [4, 5]]
    assert group_batches(batches, workers=1, months_per_task=3) == [[0], [1], [2, 3], [4], [5]]
    big = group_batches(batches * 100, workers=2)  # big plans: each task up to months_per_task (24) symbol-months
    sizes = [sum(len(batches[i % len(batches)]["months"]) for i in g) for g in big]
    assert max(sizes) <= 24 and min(sizes[:-1]) >= 22 and len(big) < 1300 / 20
    assert group_batches([], workers=2) == []


def test_a_batch_knows_whether_its_symbol_has_days_before_its_first_month() -> None:
    days = [date(2024, m, 10) for m in (1, 2, 3, 4, 5)]
    frame = pl.DataFrame({"venue": "binance", "symbol": "X", "day": days})
    batches = plan_batches(frame, frame, 3)
    assert [(b["months"][0], b["history"]) for b in batches] == [(date(2024, 1, 1), False), (date(2024, 4, 1), True)]
    changed = frame.filter(pl.col("day") == date(2024, 3, 10))  # only March changed: its batch still has history
    assert [b["history"] for b in plan_batches(changed, frame, 3)] == [True]


def test_written_summary_counts_files_and_rows_per_dataset() -> None:
    frames = [
        pl.DataFrame({"dataset": ["bars_1m", "bars_5m"], "rows": [10, 2]}, schema_overrides={"rows": pl.UInt64}),
        pl.DataFrame({"dataset": ["bars_1m"], "rows": [5]}, schema_overrides={"rows": pl.UInt64}),
    ]
    assert written_summary(frames) == {"files": 3, "rows": 17, "by_dataset": {"bars_1m": 2, "bars_5m": 1}}
    assert written_summary([]) == {"files": 0, "rows": 0, "by_dataset": {}}


def test_day_rows_by_integer_division_equals_the_days_of_dt_date_in_every_unit_and_zone() -> None:
    rng = np.random.default_rng(3)
    ms = np.sort(rng.integers(-3 * 86_400_000, 90 * 86_400_000, 20_000))  # before and after 1970, any minute
    units: list[tuple[Literal["ms", "us", "ns"], int]] = [("ms", 1), ("us", 1_000), ("ns", 1_000_000)]
    for unit, scale in units:
        for zone in ("UTC", None, "America/New_York"):  # New York: the dt.date() path (local days)
            frame = pl.DataFrame({"ts": pl.Series(ms * scale).cast(pl.Datetime(unit, zone))})
            dates = frame.get_column("ts").dt.date()
            runs = dates.rle().struct.unnest()
            expected = list(zip(runs.get_column("value").to_list(), runs.get_column("len").to_list(), strict=True))
            assert day_rows(frame) == expected, (unit, zone)
            assert day_rows(frame.head(1)) == [(expected[0][0], 1)]
