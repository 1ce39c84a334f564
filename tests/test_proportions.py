"""Percentages that never round a loss away, and breakdowns that add up to their total."""

from __future__ import annotations

from fractions import Fraction

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.proportions import OTHER, accounted, breakdown, percent, rate_percent, share
from core.run_summary import OUTCOME_SCHEMA, summarize


@pytest.mark.parametrize(
    ("part", "whole", "shown"),
    [
        (37_847, 37_848, "99.997%"),
        (827_965, 827_972, "99.999%"),
        (1, 3, "33.33%"),
        (2, 3, "66.67%"),
        (5, 5, "100.00%"),
        (0, 5, "0.00%"),
        (1, 1_000_000, "0.0001%"),
        (999_999_999, 1_000_000_000, "99.9999999%"),
        (0, 0, "n/a"),
    ],
)
def test_percent_shows_enough_decimals(part: int, whole: int, shown: str) -> None:
    assert percent(part, whole) == shown


def test_share_and_breakdown_read_plainly() -> None:
    assert share(37_847, 37_848) == "37,847 of 37,848 (99.997%)"
    assert breakdown(12, {"loaded": 8, "partial": 3, "quarantined": 1}) == "12 = 8 loaded + 3 partial + 1 quarantined"
    assert breakdown(12, {"loaded": 8, "failed": 0}, "files", skip_zero=True) == "12 files = 8 loaded + 4 other"
    assert breakdown(0, {"loaded": 0, "failed": 0}, "processed", True, keep=("failed",)) == "0 processed"
    assert (
        breakdown(3, {"loaded": 3, "failed": 0}, "processed", True, keep=("failed",))
        == "3 processed = 3 loaded + 0 failed"
    )
    with pytest.raises(ValueError, match="0 <= part <= whole"):
        percent(6, 5)


@settings(deadline=None)  # a loaded CI machine must not turn slow examples into failures
@given(st.integers(min_value=1, max_value=10**15), st.data(), st.integers(min_value=0, max_value=4))
def test_percent_is_below_100_for_any_loss_and_above_0_for_any_part(
    whole: int, data: st.DataObject, places: int
) -> None:
    part = data.draw(st.integers(min_value=0, max_value=whole))
    shown = percent(part, whole, places)
    value = Fraction(shown.removesuffix("%"))
    decimals = len(shown.removesuffix("%").partition(".")[2])
    assert decimals >= places
    assert abs(value - Fraction(100 * part, whole)) <= Fraction(1, 2 * 10**decimals)  # correctly rounded
    assert (value == 100) == (part == whole)
    assert (value == 0) == (part == 0)


@settings(deadline=None)  # a loaded CI machine must not turn slow examples into failures
@given(st.integers(min_value=0, max_value=10**9), st.dictionaries(st.text(min_size=1), st.integers(0, 10**6)))
def test_accounted_always_adds_up_to_the_total(total: int, parts: dict[str, int]) -> None:
    parts.pop(OTHER, None)
    shown = accounted(total, parts)
    assert sum(shown.values()) == total
    assert (OTHER in shown) == (sum(parts.values()) != total)


STATUSES = ["loaded", "partial", "quarantined", "failed", "duplicate", "skipped", "unchanged"]


@settings(deadline=None)  # a loaded CI machine must not turn slow examples into failures
@given(
    st.lists(
        st.tuples(st.sampled_from(STATUSES), st.integers(0, 1000), st.integers(0, 1000), st.integers(0, 1000)),
        max_size=40,
    ),
    st.integers(0, 50),
)
def test_ingest_outcomes_add_up_to_processed_and_rows_to_read(
    files: list[tuple[str, int, int, int]], unchanged_by_stat: int
) -> None:
    """Whatever the mix of outcomes, the printed categories add up (no "other") and the rates never hide a loss."""
    outcomes = pl.DataFrame(
        [
            {
                "path": f"f{i}",
                "status": status,
                "rows_read": loaded + quarantined + duplicate,
                "rows_loaded": loaded,
                "rows_quarantined": quarantined,
                "rows_duplicate": duplicate,
                "reasons": "",
                "zone_rule": "",
            }
            for i, (status, loaded, quarantined, duplicate) in enumerate(files)
        ],
        schema=OUTCOME_SCHEMA,
    )
    summary = summarize(outcomes, len(files) + unchanged_by_stat, unchanged_by_stat)
    assert sum(summary.file_outcomes().values()) == summary.files_processed
    assert OTHER not in summary.file_outcomes()
    assert sum(summary.row_outcomes().values()) == summary.rows_read
    assert OTHER not in summary.row_outcomes()
    if summary.rows_loaded < summary.rows_read:
        assert "100.00%" not in summary.row_line()
    as_dict = summary.as_dict()
    assert as_dict["files_processed"] == summary.files_seen - summary.files_skipped


@settings(deadline=None)  # a loaded CI machine must not turn slow examples into failures
@given(st.integers(min_value=1, max_value=10**12), st.data())
def test_a_rate_prints_like_its_counts(whole: int, data: st.DataObject) -> None:
    """``status`` has only the float rate: it shows no 100% for a loss either (0.99997 used to print as 1)."""
    part = data.draw(st.integers(min_value=0, max_value=whole))
    shown = rate_percent(part / whole)
    assert (shown == "100.00%") == (part == whole)
    assert (shown.strip("0.%") == "") == (part == 0)


def test_rate_percent_examples() -> None:
    assert rate_percent(0.99997) == "99.997%"
    assert rate_percent(0.7273) == "72.73%"
    assert rate_percent(1.0) == "100.00%"
