"""Validate tasks are bounded by the bars they read, not only by symbol count (memory by the batch)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.settings import Settings
from storage.warm import open_warehouse
from validation.planning import estimated_bars, symbol_batches

T0 = datetime(2024, 6, 1, tzinfo=UTC)
TS = pl.Datetime("ms", "UTC")


def _scope(spans: list[tuple[int, int]]) -> pl.DataFrame:
    """One symbol per (first, last) minute offset from T0."""
    return pl.DataFrame(
        {
            "venue": "binance",
            "symbol": [f"S{i:03d}" for i in range(len(spans))],
            "first_seen": [T0 + timedelta(minutes=a) for a, _ in spans],
            "last_seen": [T0 + timedelta(minutes=b) for _, b in spans],
        },
        schema_overrides={"first_seen": TS, "last_seen": TS},
    )


def test_a_span_is_clipped_to_the_read_window() -> None:
    scope = _scope([(0, 1439), (-10_000, 100_000), (5_000, 6_000)])
    bars = estimated_bars(scope, T0, T0 + timedelta(minutes=1440))
    assert bars.to_list() == [1440, 1441, 0]  # inside; clipped to the window (ends inclusive); outside


def test_long_spans_split_batches_and_a_huge_symbol_goes_alone() -> None:
    day = 1440
    scope = _scope([(0, day - 1)] * 3 + [(0, 10 * day - 1)] + [(0, day - 1)] * 2)
    batches = symbol_batches(scope, T0, T0 + timedelta(days=10), max_symbols=200, max_rows=2 * day)
    assert [[r["symbol"] for r in b] for b in batches] == [["S000", "S001"], ["S002"], ["S003"], ["S004", "S005"]]
    assert len(symbol_batches(scope, T0, T0 + timedelta(days=10), max_symbols=4, max_rows=10**9)) == 2


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 20_000), st.integers(0, 20_000)), min_size=0, max_size=40),
    st.integers(1, 10),
    st.integers(1_440, 30_000),
)
def test_every_symbol_once_in_order_within_both_bounds(spans: list[tuple[int, int]], most: int, rows: int) -> None:
    scope = _scope([(min(a, b), max(a, b)) for a, b in spans])
    end = T0 + timedelta(minutes=20_000)
    batches = symbol_batches(scope, T0, end, max_symbols=most, max_rows=rows)
    assert [r["symbol"] for b in batches for r in b] == scope["symbol"].to_list()
    sizes = dict(zip(scope["symbol"], estimated_bars(scope, T0, end), strict=True))
    for batch in batches:
        assert 1 <= len(batch) <= most
        assert len(batch) == 1 or sum(sizes[r["symbol"]] for r in batch) <= rows


@pytest.mark.usefixtures("prefect_api")
def test_grouping_symbols_into_smaller_tasks_changes_no_finding(
    settings: Settings, real_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real EURUSD and S&P 500 minutes: one task for both symbols, then a task each, give the same verdicts."""
    from flows.ingest import ingest
    from flows.validate import validate

    ingest(paths=[str(real_data / "histdata-eurusd-m1")])
    ingest(
        paths=[str(real_data / "sp500-index-1m-intraday")], venue="nyse", timezone="America/New_York", date_order="mdy"
    )
    first, last = date(2015, 2, 1), date(2015, 2, 6)
    kept = ["venue", "symbol", "ts", "end_ts", "minutes", "check", "known_event"]

    def findings() -> pl.DataFrame:
        with open_warehouse(settings) as warehouse:
            return warehouse.query_df(
                "SELECT toString(venue) AS venue, symbol, ts, end_ts, minutes, toString(check) AS check, known_event "
                "FROM anomalies FINAL WHERE origin = 'validate' ORDER BY venue, symbol, ts, check"
            ).select(kept)

    together = validate(since=first, until=last, report=False)
    one_task = findings()
    monkeypatch.setenv("MARKETOPS_VALIDATE_BATCH_ROWS", "1440")
    apart = validate(since=first, until=last, report=False)
    assert one_task.height > 0 and findings().equals(one_task)
    same = ["rows_checked", "pass_rate_rows", "files_checked", "anomalies_by_check", "symbol_days", "symbol_days_ok"]
    assert {k: apart[k] for k in same} == {k: together[k] for k in same}
