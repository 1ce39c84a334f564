"""The validate-stage catalogue on hand-made frames: each check finds exactly what was planted."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from core.formats.frame import TS_TYPE
from core.quality_rules import CheckThresholds, thresholds_for
from validation.calendars import expected_minutes
from validation.duplicates import conflicting_copies
from validation.gaps import discount_quarantined, find_gaps, find_outside_session
from validation.gate import gate_check
from validation.known_events import Allowlist, KnownEvent, annotate
from validation.quality import STATUS_FAILED, STATUS_OK, STATUS_SUSPECT, symbol_days
from validation.statistical import find_spikes, find_stale_runs, find_volume_outliers, find_zero_volume_runs
from validation.warm_checks import CheckRules, ValidationRange, check_bars

T0 = datetime(2024, 6, 3, tzinfo=UTC)  # a Monday


def bars(
    n: int,
    start: datetime = T0,
    symbol: str = "BTCUSDT",
    venue: str = "binance",
    seed: int = 7,
    volume: float | None = None,
) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.0005, n)))
    vol = rng.lognormal(1.0, 0.3, n) if volume is None else np.full(n, volume)
    return pl.DataFrame(
        {
            "venue": venue,
            "symbol": symbol,
            "ts": pl.datetime_range(
                start, start + timedelta(minutes=n - 1), "1m", time_unit="ms", time_zone="UTC", eager=True
            ),
            "open": close,
            "high": close * 1.0002,
            "low": close * 0.9998,
            "close": close,
            "volume": vol,
            "source_id": pl.Series([1] * n, dtype=pl.UInt64),
        }
    )


def window(frame: pl.DataFrame, start: datetime, end: datetime) -> pl.DataFrame:
    return (
        frame.select("venue", "symbol")
        .unique()
        .with_columns(start=pl.lit(start).cast(TS_TYPE), end=pl.lit(end).cast(TS_TYPE))
    )


def test_a_halt_is_one_gap_with_its_start_end_and_minutes() -> None:
    frame = bars(1440).filter(~pl.col("ts").is_between(T0 + timedelta(minutes=600), T0 + timedelta(minutes=660)))
    grid = expected_minutes("crypto", T0, T0 + timedelta(days=1))
    gaps = find_gaps(frame, grid, window(frame, T0, T0 + timedelta(days=1)))
    assert gaps.height == 1
    gap = gaps.row(0, named=True)
    assert (gap["ts"], gap["end_ts"], gap["minutes"]) == (T0 + timedelta(minutes=600), T0 + timedelta(minutes=660), 61)
    assert gap["check"] == "gap" and gap["severity"] == "warn"


def test_leading_and_trailing_holes_and_a_silent_symbol_are_gaps() -> None:
    frame = bars(1440).slice(10, 1420)  # first 10 and last 10 minutes missing
    silent = pl.DataFrame({"venue": ["binance"], "symbol": ["ETHUSDT"]})
    windows = pl.concat(
        [
            window(frame, T0, T0 + timedelta(days=1)),
            silent.with_columns(start=pl.lit(T0).cast(TS_TYPE), end=pl.lit(T0 + timedelta(days=1)).cast(TS_TYPE)),
        ]
    )
    gaps = find_gaps(frame, expected_minutes("crypto", T0, T0 + timedelta(days=1)), windows).sort("symbol", "ts")
    assert gaps.select("symbol", "minutes").rows() == [("BTCUSDT", 10), ("BTCUSDT", 10), ("ETHUSDT", 1440)]


def test_fx_weekend_is_no_gap_and_the_week_opens_at_17_new_york_across_dst() -> None:
    # 2024-03-08 (Fri) .. 2024-03-11 (Mon): US DST starts Sunday 10 March, so the week opens 21:00 UTC, not 22:00.
    start, end = datetime(2024, 3, 8, tzinfo=UTC), datetime(2024, 3, 12, tzinfo=UTC)
    grid = expected_minutes("fx", start, end)
    closes_fri = datetime(2024, 3, 8, 22, 0, tzinfo=UTC)  # 17:00 EST
    opens_sun = datetime(2024, 3, 10, 21, 0, tzinfo=UTC)  # 17:00 EDT
    assert grid.filter(grid < closes_fri).max() == closes_fri - timedelta(minutes=1)
    assert grid.filter(grid >= closes_fri).min() == opens_sun
    present = pl.DataFrame({"ts": grid}).with_columns(venue=pl.lit("dukascopy"), symbol=pl.lit("EURUSD"))
    assert find_gaps(present, grid, window(present, start, end)).height == 0


def test_equity_calendar_knows_holidays_and_early_closes() -> None:
    grid = expected_minutes("equity", datetime(2019, 11, 27, tzinfo=UTC), datetime(2019, 11, 30, tzinfo=UTC), "XNYS")
    per_day = pl.DataFrame({"ts": grid}).group_by(pl.col("ts").dt.date()).len().sort("ts")
    # Wednesday full day, Thanksgiving closed, Friday closes 13:00 ET.
    assert per_day.rows() == [(date(2019, 11, 27), 390), (date(2019, 11, 29), 210)]


def test_bars_outside_the_session_are_runs_not_rows() -> None:
    grid = expected_minutes("equity", datetime(2019, 11, 5, tzinfo=UTC), datetime(2019, 11, 6, tzinfo=UTC))
    late = [datetime(2019, 11, 5, 21, m, tzinfo=UTC) for m in range(3)]  # 16:00-16:02 ET
    frame = pl.DataFrame(
        {"venue": "nyse", "symbol": "SPY", "ts": pl.Series([*grid.to_list()[:5], *late], dtype=TS_TYPE)}
    )
    off = find_outside_session(frame, grid, "equity")
    assert off.select("ts", "minutes").rows() == [(late[0], 3)]


def _level_shift(frame: pl.DataFrame, at: int, factor: float) -> pl.DataFrame:
    """Every price from row ``at`` on moved by ``factor``: one jump, then the market stays there."""
    scale = pl.when(pl.int_range(pl.len()) >= at).then(factor).otherwise(1.0)
    return frame.with_columns(*(pl.col(c) * scale for c in ("open", "high", "low", "close")))


def test_spike_found_by_rolling_mad_and_quiet_moves_are_not() -> None:
    frame = _level_shift(bars(300), 200, 1.02)  # +2% in one minute, then it stays
    spikes = find_spikes(frame, CheckThresholds())
    assert spikes["ts"].to_list() == [T0 + timedelta(minutes=200)]
    assert "z" in spikes["detail"][0]
    assert find_spikes(bars(300), CheckThresholds()).height == 0


def test_a_move_across_a_gap_is_not_a_one_minute_spike() -> None:
    frame = _level_shift(bars(300), 200, 1.02).filter(pl.col("ts") != T0 + timedelta(minutes=199))
    assert find_spikes(frame, CheckThresholds()).height == 0


def test_stale_run_and_zero_volume_run_are_told_apart() -> None:
    frame = bars(200)
    close, vol = frame["close"].to_numpy().copy(), frame["volume"].to_numpy().copy()
    close[50:90] = close[50]
    vol[50:90] = 0.0  # 40 flat bars without volume: stale
    vol[120:160] = 0.0  # 40 moving bars without volume: zero-volume run
    frame = frame.with_columns(close=pl.Series(close), volume=pl.Series(vol))
    th = CheckThresholds(stale_min_bars=15, zero_volume_min_bars=30)
    stale = find_stale_runs(frame, th)
    assert stale.select("ts", "minutes").rows() == [(T0 + timedelta(minutes=50), 40)]
    zero = find_zero_volume_runs(frame, th)
    assert zero.select("ts", "minutes").rows() == [(T0 + timedelta(minutes=120), 40)]


def test_volume_outlier_is_a_warning_on_its_minute() -> None:
    frame = bars(1440)
    vol = frame["volume"].to_numpy().copy()
    vol[700] *= 400
    outliers = find_volume_outliers(frame.with_columns(volume=pl.Series(vol)), CheckThresholds())
    assert outliers["ts"].to_list() == [T0 + timedelta(minutes=700)]
    assert outliers["severity"].to_list() == ["warn"]


def test_symbols_without_volume_are_judged_on_prices_only() -> None:
    frame = bars(600, volume=0.0, venue="nyse", symbol="SPX")
    rng = ValidationRange(date(2024, 6, 3), date(2024, 6, 3), datetime(2024, 6, 10, tzinfo=UTC))
    found = check_bars(frame, window(frame, T0, T0 + timedelta(days=1)), rng, CheckRules()).anomalies
    assert "zero_volume_run" not in found["check"].to_list()


def test_out_of_order_rows_load_with_a_warning() -> None:
    from core.normalize import Identity, to_candidates
    from tests.test_batch import _raw

    raw = _raw(5)
    raw = raw.with_columns(ts=pl.Series([raw["ts"][i] for i in (0, 1, 3, 2, 4)]))
    result = gate_check(to_candidates(raw, Identity("binance", "BTCUSDT", 1, 1)))
    assert result.rejected.height == 0 and result.passed.height == 5
    assert result.warnings["checks"].to_list() == [["ts_out_of_order"]]


def test_conflicting_copies_in_two_files_name_both_and_identical_ones_are_silent() -> None:
    ts = T0 + timedelta(minutes=5)
    copies = pl.DataFrame(
        {
            "venue": ["binance"] * 4,
            "symbol": ["BTCUSDT"] * 4,
            "ts": pl.Series([ts, ts, ts + timedelta(minutes=1), ts + timedelta(minutes=1)], dtype=TS_TYPE),
            "source_id": pl.Series([1, 2, 1, 2], dtype=pl.UInt64),
            "version": pl.Series([10, 20, 10, 20], dtype=pl.UInt64),
            "open": [1.0] * 4,
            "high": [1.0] * 4,
            "low": [1.0] * 4,
            "close": [1.0, 1.5, 1.0, 1.0],
            "volume": [1.0] * 4,
        }
    )
    paths = pl.DataFrame(
        {"source_id": pl.Series([1, 2], dtype=pl.UInt64), "path": ["/a/day1.csv", "/b/day1-again.csv"]}
    )
    found = conflicting_copies(copies, paths)
    assert found["ts"].to_list() == [ts]
    assert "/a/day1.csv" in found["detail"][0] and "/b/day1-again.csv" in found["detail"][0]
    assert found["source_id"].to_list() == [2]  # the newest version is the one kept
    same_path = paths.with_columns(path=pl.lit("/a/day1.csv"))
    assert conflicting_copies(copies, same_path).height == 0  # a corrected re-delivery replaces, it does not conflict


def test_known_events_annotate_only_their_venue_symbol_checks_and_time() -> None:
    event = KnownEvent("halt", "binance", "*", T0, T0 + timedelta(hours=1), ("gap", "stale_run"), "maintenance")
    frame = pl.DataFrame(
        {
            "venue": ["binance", "binance", "binance", "kraken"],
            "symbol": ["BTCUSDT", "ETHUSDT", "BTCUSDT", "BTCUSDT"],
            "ts": pl.Series(
                [T0 + timedelta(minutes=30), T0 - timedelta(minutes=30), T0 + timedelta(minutes=10), T0], dtype=TS_TYPE
            ),
            "end_ts": pl.Series(
                [T0 + timedelta(minutes=90), T0 - timedelta(minutes=1), T0 + timedelta(minutes=10), T0], dtype=TS_TYPE
            ),
            "check": ["gap", "gap", "spike", "gap"],
        }
    )
    assert annotate(frame, Allowlist((event,), "t:1"))["known_event"].to_list() == ["halt", "", "", ""]


def test_symbol_day_status_ok_suspect_failed() -> None:
    counts = pl.DataFrame(
        {
            "venue": ["binance"] * 3,
            "symbol": ["A", "B", "C"],
            "day": [date(2024, 6, 3)] * 3,
            "expected": [1440, 1440, 1440],
            "present": [1440, 1379, 300],
            "off_session": [0, 0, 0],
        },
        schema_overrides={"expected": pl.UInt32, "present": pl.UInt32, "off_session": pl.UInt32},
    )
    anomalies = pl.DataFrame(
        {
            "venue": ["binance", "binance"],
            "symbol": ["B", "C"],
            "ts": pl.Series([T0, T0], dtype=TS_TYPE),
            "minutes": pl.Series([61, 1140], dtype=pl.UInt32),
            "check": ["gap", "gap"],
            "known_event": ["", ""],
        }
    )
    quarantined = pl.DataFrame(
        schema={"venue": pl.String, "symbol": pl.String, "day": pl.Date, "explained": pl.Boolean}
    )
    days = symbol_days(counts, anomalies, quarantined, lambda v: thresholds_for(v, "crypto"))
    assert days["status"].to_list() == [STATUS_OK, STATUS_SUSPECT, STATUS_FAILED]
    explained = symbol_days(
        counts, anomalies.with_columns(known_event=pl.lit("outage")), quarantined, lambda v: thresholds_for(v, "crypto")
    )
    assert explained["status"].to_list() == [STATUS_OK, STATUS_OK, STATUS_OK]


@pytest.mark.parametrize("override", [{"crypto": {"gap_min_minutes": 5}}, {"binance": {"gap_min_minutes": 5}}])
def test_thresholds_are_configurable_per_session_kind_and_venue(override: dict) -> None:
    assert thresholds_for("binance", "crypto", override).gap_min_minutes == 5
    assert thresholds_for("kraken", "crypto", {"binance": {"gap_min_minutes": 5}}).gap_min_minutes == 1


def test_quarantined_minutes_are_not_also_gaps() -> None:
    frame = bars(100).filter(
        ~pl.col("ts").is_in([T0 + timedelta(minutes=10), T0 + timedelta(minutes=50), T0 + timedelta(minutes=51)])
    )
    gaps = find_gaps(
        frame,
        expected_minutes("crypto", T0, T0 + timedelta(minutes=100)),
        window(frame, T0, T0 + timedelta(minutes=100)),
    )
    held = pl.DataFrame(
        {
            "venue": ["binance"] * 2,
            "symbol": ["BTCUSDT"] * 2,
            "ts": pl.Series([T0 + timedelta(minutes=10), T0 + timedelta(minutes=50)], dtype=TS_TYPE),
        }
    )
    left = discount_quarantined(gaps, held)
    assert left.select("ts", "minutes").rows() == [(T0 + timedelta(minutes=50), 2)]
    assert "1 of them delivered but quarantined" in left["detail"][0]


def test_stale_run_without_published_volume_is_judged_on_closes() -> None:
    frame = bars(200)
    close = frame["close"].to_numpy().copy()
    close[50:90] = close[50]
    stale = find_stale_runs(
        frame.with_columns(close=pl.Series(close)), CheckThresholds(volume_known=False, stale_min_bars=30)
    )
    assert stale.select("ts", "minutes").rows() == [(T0 + timedelta(minutes=50), 40)]


def test_a_flash_crash_inside_one_minute_is_a_spike_by_its_wick() -> None:
    frame = bars(300)
    low = frame["low"].to_numpy().copy()
    low[150] *= 0.80  # the price fell 20% and came back within the minute: the close says nothing
    spikes = find_spikes(frame.with_columns(low=pl.Series(low)), CheckThresholds())
    assert spikes["ts"].to_list() == [T0 + timedelta(minutes=150)]
    assert "low move" in spikes["detail"][0]
