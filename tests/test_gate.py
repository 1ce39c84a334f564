"""Gate checks on hand-made frames: each rule, duplicates, and file-level isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from core.formats.frame import RAW_SCHEMA
from core.normalize import Identity, to_candidates
from validation.gate import gate_check, isolate_files

T0 = datetime(2024, 6, 3, tzinfo=UTC)


def _frame(rows: list[dict[str, object]], source_id: int = 1) -> pl.DataFrame:
    full = []
    for i, row in enumerate(rows):
        base = {
            "line": i + 1,
            "ts": T0 + timedelta(minutes=i),
            "open": 10.0,
            "high": 11.0,
            "low": 9.0,
            "close": 10.5,
            "volume": 1.0,
            "trades": 1,
            "quote_volume": 10.0,
            "raw": None,
        }
        full.append(base | row)
    raw = pl.DataFrame(full, schema=RAW_SCHEMA)
    return to_candidates(raw, Identity("binance", "BTCUSDT", source_id, 7))


@pytest.mark.parametrize(
    ("row", "check"),
    [
        ({"high": 10.2}, "high_below_open_close"),
        ({"low": 10.6}, "low_above_open_close"),
        ({"high": 8.0, "low": 9.0, "open": 8.5, "close": 8.5}, "high_below_low"),
        ({"open": -1.0}, "price_not_finite_positive"),
        ({"close": float("nan")}, "price_not_finite_positive"),
        ({"close": float("inf"), "high": float("inf")}, "price_not_finite_positive"),
        ({"volume": -0.1}, "volume_negative"),
        ({"ts": T0 + timedelta(seconds=30)}, "ts_not_minute_aligned"),
        ({"ts": None, "raw": "garbage"}, "row_unparseable"),
    ],
)
def test_each_error_check_rejects_its_row_with_its_name(row: dict[str, object], check: str) -> None:
    result = gate_check(_frame([{}, row, {}]))
    assert result.passed.height == 2
    assert result.rejected.height == 1
    assert check in result.rejected["checks"][0].to_list()
    assert result.rejected["detail"][0].startswith("line 2:")


def test_a_clean_frame_passes_whole() -> None:
    result = gate_check(_frame([{}, {}, {}]))
    assert (result.passed.height, result.rejected.height, result.duplicates_dropped.height) == (3, 0, 0)


def test_exact_duplicate_is_dropped_silently_and_counted() -> None:
    frame = _frame([{}, {}])
    frame = pl.concat([frame, frame.slice(1, 1).with_columns(line=pl.lit(3, pl.UInt32))])
    result = gate_check(frame)
    assert result.passed.height == 2 and result.rejected.height == 0
    assert result.duplicates_dropped["rows"].to_list() == [1]


def test_conflicting_duplicates_are_both_rejected() -> None:
    frame = _frame([{}, {}])
    frame = pl.concat([frame, frame.slice(1, 1).with_columns(line=pl.lit(3, pl.UInt32), close=pl.lit(10.7))])
    result = gate_check(frame)
    assert result.passed.height == 1
    assert sorted(result.rejected["line"].to_list()) == [2, 3]
    assert all("duplicate_ts_conflict" in c for c in result.rejected["checks"].to_list())


def test_same_ts_in_two_files_is_not_a_within_file_duplicate() -> None:
    frame = pl.concat([_frame([{}]), _frame([{"close": 10.9}], source_id=2)])
    assert gate_check(frame).rejected.height == 0


def test_file_over_the_error_threshold_is_quarantined_whole() -> None:
    mostly_bad = _frame([{"volume": -1.0}, {"volume": -1.0}, {}, {}], source_id=1)
    fine = _frame([{}, {}, {}, {}], source_id=2)
    result, isolated = isolate_files(gate_check(pl.concat([mostly_bad, fine])), threshold=0.05)
    assert isolated == {1}
    assert result.passed["source_id"].unique().to_list() == [2]
    moved = result.rejected.filter(pl.col("checks").list.contains("file_error_ratio"))
    assert moved.height == 2
