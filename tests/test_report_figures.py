"""The report's charts stay readable at any range: axes from 0, like-with-like trend, bucketed heatmap, visible gaps.

Pure figure specs (plotly's JSON), no browser; the rendering is tested in test_report_browser.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from validation.report_figures import (
    MAX_COLUMNS,
    MAX_GAP_BARS,
    MIN_GAP_FRACTION,
    gaps_figure,
    heatmap_figure,
    pass_rates_figure,
    trend_figure,
)

TS = pl.Datetime("ms", "UTC")


def test_pass_rate_axis_starts_at_zero_so_a_99_percent_bar_is_not_a_sliver() -> None:
    rates = {"pass_rate_files": 0.99, "pass_rate_rows": 0.71, "pass_rate_symbol_days": 0.995, "threshold": 0.995}
    spec = pass_rates_figure(rates).to_plotly_json()
    axis = spec["layout"]["yaxis"]
    assert axis["rangemode"] == "tozero" and axis["range"][0] == 0 and axis["range"][1] >= 100
    assert list(spec["data"][0]["y"]) == [99.0, 71.0, 99.5]


def _history(rows: list[tuple[str, str, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "run_id": [f"r{i}" for i in range(len(rows))],
            "finished_at": [datetime.fromisoformat(f) for _, f, _ in rows],
            "range": [r for r, _, _ in rows],
            "pass_rate_files": [v for *_, v in rows],
            "pass_rate_rows": [v for *_, v in rows],
            "pass_rate_symbol_days": [v for *_, v in rows],
        },
        schema_overrides={"finished_at": pl.Datetime("us", "UTC")},
    )


def test_trend_compares_daily_runs_with_daily_runs_only_and_says_so() -> None:
    history = _history(
        [
            ("2024-05-31..2024-05-31", "2024-06-01T00:40:00+00:00", None),  # no data that day: no point, no crash
            ("2024-06-01..2024-06-01", "2024-06-02T00:40:00+00:00", 0.99),
            ("2015-01-01..2024-12-31", "2024-06-02T05:00:00+00:00", 0.71),  # a 10-year backfill: not comparable
            ("2024-06-02..2024-06-02", "2024-06-03T00:40:00+00:00", 0.98),
            ("2024-05-27..2024-06-02", "2024-06-03T01:00:00+00:00", 0.50),  # a week: not comparable
            ("2024-06-02..2024-06-02", "2024-06-03T09:00:00+00:00", 0.97),  # a rerun of 2 June: the latest counts
            ("2024-06-03..2024-06-03", "2024-06-04T00:40:00+00:00", 1.00),
        ]
    )
    spec = trend_figure(history, date(2024, 6, 3), date(2024, 6, 3)).to_plotly_json()
    files = spec["data"][0]
    assert [str(x) for x in files["x"]] == ["2024-05-31", "2024-06-01", "2024-06-02", "2024-06-03"]
    assert list(files["y"]) == [None, 99.0, 97.0, 100.0]
    title = spec["layout"]["title"]["text"]
    assert "daily runs" in title and "2 runs over other range lengths left out" in title

    weekly = trend_figure(history, date(2024, 5, 27), date(2024, 6, 2)).to_plotly_json()
    assert list(weekly["data"][0]["y"]) == [50.0] and "7-day ranges" in weekly["layout"]["title"]["text"]


def _days(first: date, last: date, symbols: int) -> pl.DataFrame:
    day = pl.date_range(first, last, "1d", eager=True)
    n = day.len()
    rng = np.random.default_rng(7)
    frames = []
    for s in range(symbols):
        status = np.where(rng.random(n) < 0.01, "failed", np.where(rng.random(n) < 0.05, "suspect", "ok"))
        frames.append(
            pl.DataFrame(
                {
                    "venue": "binance",
                    "symbol": f"S{s}USDT",
                    "day": day,
                    "expected": 1440,
                    "present": 1440,
                    "quarantined": 0,
                    "by_check": "",
                    "coverage": 1.0,
                    "status": status,
                }
            )
        )
    return pl.concat(frames)


def test_a_ten_year_heatmap_draws_months_not_3653_day_columns() -> None:
    first, last = date(2015, 1, 1), date(2024, 12, 31)
    days = _days(first, last, symbols=3)
    spec = heatmap_figure(days, first, last).to_plotly_json()
    heat = spec["data"][0]
    assert len(heat["x"]) == 120 <= MAX_COLUMNS and heat["x"][0] == "2015-01" and heat["x"][-1] == "2024-12"
    assert "month" in spec["layout"]["title"]["text"]
    # A month is as bad as its worst day, and the hover says how many days were what.
    worst = days.filter(pl.col("symbol") == "S0USDT", pl.col("day").dt.strftime("%Y-%m") == "2015-01")
    row = heat["y"].index("binance:S0USDT")
    assert (
        heat["z"][row][0]
        == {"ok": 0, "suspect": 1, "failed": 2}[
            "failed"
            if (worst["status"] == "failed").any()
            else "suspect"
            if (worst["status"] == "suspect").any()
            else "ok"
        ]
    )
    assert f"month 2015-01-01: {worst.height} days: {(worst['status'] == 'ok').sum()} ok" in heat["text"][row][0]

    year = heatmap_figure(_days(date(2024, 1, 1), date(2024, 12, 31), 1), date(2024, 1, 1), date(2024, 12, 31))
    assert len(year.to_plotly_json()["data"][0]["x"]) == 53  # weeks: 366 days would not fit
    week = heatmap_figure(_days(date(2024, 6, 1), date(2024, 6, 7), 1), date(2024, 6, 1), date(2024, 6, 7))
    assert len(week.to_plotly_json()["data"][0]["x"]) == 7  # short ranges keep their days


def _gaps(starts: list[datetime], minutes: list[int], symbol: str = "BTCUSDT") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "venue": "binance",
            "symbol": symbol,
            "ts": starts,
            "end_ts": [s + timedelta(minutes=m - 1) for s, m in zip(starts, minutes, strict=True)],
            "minutes": minutes,
            "check": "gap",
            "known_event": "",
            "detail": [f"{m} expected minutes missing" for m in minutes],
        },
        schema_overrides={"ts": TS, "end_ts": TS},
    )


def test_a_one_minute_gap_in_a_year_is_drawn_wide_enough_to_see_with_its_true_length_in_the_hover() -> None:
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
    gaps = _gaps([datetime(2024, 3, 5, 10, 3, tzinfo=UTC), datetime(2024, 8, 1, tzinfo=UTC)], [1, 20_000])
    spec = gaps_figure(gaps, start, end).to_plotly_json()
    bars = spec["data"][0]
    span_ms = (end - start).total_seconds() * 1000
    assert bars["x"][0] >= span_ms / MIN_GAP_FRACTION  # ~35 hours drawn: several pixels at any width
    assert "1 expected minutes missing" in bars["hovertext"][0] and "drawn wider" in bars["hovertext"][0]
    assert bars["x"][1] == 20_000 * 60_000 and "drawn wider" not in bars["hovertext"][1]  # long gaps as they are
    assert [str(v)[:10] for v in spec["layout"]["xaxis"]["range"]] == ["2024-01-01", "2025-01-01"]


def test_thousands_of_gaps_fold_into_bucket_bars_with_counts() -> None:
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
    starts = [start + timedelta(hours=2 * i) for i in range(3_000)]  # a 1-minute gap every 2 hours
    spec = gaps_figure(_gaps(starts, [1] * len(starts)), start, end).to_plotly_json()
    bars = spec["data"][0]
    assert len(starts) > MAX_GAP_BARS and len(bars["x"]) <= MAX_COLUMNS
    counts = [int(h.split(" gaps")[0]) for h in bars["hovertext"]]
    assert sum(counts) == 3_000 and all(x >= 7 * 86_400_000 for x in bars["x"])  # a week wide at least
    assert "gaps per week" in spec["layout"]["title"]["text"]
