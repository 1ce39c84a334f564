"""Cold-tier caches: exact resamples, session-aligned daily bars, incremental and verifiable builds."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.features import FEATURE_COLUMNS, compute_features
from core.samples import SampleSpec, generate
from core.settings import Settings
from storage.cold.manifest import read_manifest, verify
from storage.cold.store import LocalColdStore
from storage.landing import write_file
from storage.warm import open_warehouse

pytestmark = pytest.mark.usefixtures("prefect_api")

SQL_INTRADAY = """
SELECT venue, symbol, toDateTime64(toStartOfInterval(ts, toIntervalMinute({m:UInt32})), 3, 'UTC') AS bucket,
       argMin(open, ts) AS open, max(high) AS high, min(low) AS low, argMax(close, ts) AS close,
       sum(volume) AS volume, count() AS minutes
FROM bars_1m FINAL GROUP BY venue, symbol, bucket ORDER BY venue, symbol, bucket
"""
# An independent statement of the session rules, in SQL: FX days open 17:00 New York, crypto at 00:00 UTC.
SQL_DAILY = """
SELECT venue, symbol,
       toDateTime64(if(venue = 'dukascopy',
            toTimeZone(toStartOfDay(toTimeZone(ts, 'America/New_York') - INTERVAL 17 HOUR) + INTERVAL 17 HOUR, 'UTC'),
            toStartOfDay(ts, 'UTC')), 3, 'UTC') AS bucket,
       argMin(open, ts) AS open, max(high) AS high, min(low) AS low, argMax(close, ts) AS close,
       sum(volume) AS volume, count() AS minutes
FROM bars_1m FINAL GROUP BY venue, symbol, bucket ORDER BY venue, symbol, bucket
"""


def _land(settings: Settings, spec: SampleSpec, only_day: str | None = None) -> None:
    for sample in generate(spec):
        if only_day is None or only_day in sample.relative_path:
            write_file(settings.default_landing_dir, sample.relative_path, sample.data)


def _cold(settings: Settings, dataset: str) -> pl.DataFrame:
    root = LocalColdStore.from_settings(settings).root
    return pl.read_parquet(str(root / dataset / "**" / "*.parquet"), hive_partitioning=True).sort(
        "venue", "symbol", "ts"
    )


def test_every_resampled_timeframe_equals_the_same_resample_in_sql(settings: Settings) -> None:
    from flows.caches import caches
    from flows.ingest import ingest

    _land(settings, SampleSpec(symbols=4, days=3, inject=True))
    ingest()
    caches()
    compare = ["venue", "symbol", "ts", "open", "high", "low", "close", "minutes"]
    with open_warehouse(settings) as wh:
        for timeframe, minutes in {"5m": 5, "15m": 15, "1h": 60, "4h": 240}.items():
            expected = wh.query_df(SQL_INTRADAY, {"m": minutes}).rename({"bucket": "ts"})
            found = _cold(settings, f"bars_{timeframe}")
            assert_frame_equal(found.select(compare), expected.select(compare), check_dtypes=False)
            assert_frame_equal(found.select("volume"), expected.select("volume"), check_dtypes=False, rel_tol=1e-9)
        daily = wh.query_df(SQL_DAILY).rename({"bucket": "ts"})
        fx_bars = wh.query_scalar("SELECT count() FROM bars_1m FINAL WHERE symbol = 'EURUSD'")
    found = _cold(settings, "bars_1d")
    assert_frame_equal(found.select(compare), daily.select(compare), check_dtypes=False)
    fx = found.filter(pl.col("symbol") == "EURUSD")
    assert fx["ts"][0] == datetime(2024, 6, 2, 21, tzinfo=UTC)  # Sunday 17:00 New York (EDT)
    assert fx["minutes"].sum() == fx_bars and (fx["minutes"] < 1440).all()  # every session here is partial, and says so


def test_daily_bars_follow_the_fx_and_equity_sessions_of_the_real_samples(settings: Settings, real_data: Path) -> None:
    from flows.caches import caches
    from flows.ingest import ingest

    ingest(paths=[str(real_data / "histdata-eurusd-m1")])
    ingest(
        paths=[str(real_data / "sp500-index-1m-intraday")], venue="nyse", timezone="America/New_York", date_order="mdy"
    )
    caches()
    daily = _cold(settings, "bars_1d")
    fx = daily.filter(pl.col("symbol") == "EURUSD")
    assert fx["ts"].to_list() == [
        datetime(2015, 2, d, 22, tzinfo=UTC) for d in (1, 2, 3, 4, 5)
    ]  # 17:00 EST, Sunday to Thursday
    assert fx["minutes"].sum() == 7192
    sp = daily.filter(pl.col("symbol") == "SP500")
    assert sp["ts"].to_list() == [datetime(2019, 11, d, 14, 30, tzinfo=UTC) for d in (5, 6, 7, 8)]  # 09:30 EST
    assert sp["minutes"].to_list() == [390] * 4  # the extra 16:00 bars are outside regular hours


def test_an_incremental_build_rewrites_the_new_days_month_with_a_row_group_per_day(settings: Settings) -> None:
    import pyarrow.parquet as pq

    from flows.caches import caches
    from flows.ingest import ingest

    _land(settings, SampleSpec(symbols=2, days=2, inject=False, fx_share=0))
    ingest()
    caches()
    store = LocalColdStore.from_settings(settings)
    before = {path: store.path(path).stat().st_mtime_ns for path in store.list("**/data.parquet")}
    _land(settings, SampleSpec(symbols=2, days=3, inject=False, fx_share=0), only_day="2024-06-05")  # one new day
    ingest()
    summary = caches()
    after = {path: store.path(path).stat().st_mtime_ns for path in store.list("**/data.parquet")}
    assert set(after) == set(before)  # no new file: the new day joined its month's files
    assert all(before[p] != after[p] and "/month=2024-06/" in p for p in after)  # each rewritten whole
    assert summary["days"] == 2  # one new day for each of the two symbols
    assert verify(store) == []
    manifest = read_manifest(store)
    for path in store.list("bars_1m/**/data.parquet") + store.list("features_1m/**/data.parquet"):
        groups = pq.ParquetFile(store.path(path))
        days = [groups.read_row_group(i).column("ts").to_pylist() for i in range(groups.num_row_groups)]
        assert [{t.date() for t in day} for day in days] == [{d} for d in sorted({t.date() for g in days for t in g})]
        row = manifest.filter(pl.col("path") == path).row(0, named=True)
        assert row["day_rows"] == [len(day) for day in days] and len(row["days"]) == 3  # one row group per day


def test_day_boundary_features_equal_a_full_recomputation(settings: Settings) -> None:
    from flows.caches import caches
    from flows.ingest import ingest

    _land(settings, SampleSpec(symbols=1, days=3, inject=False, fx_share=0))
    ingest()
    caches()
    _land(settings, SampleSpec(symbols=1, days=4, inject=False, fx_share=0), only_day="2024-06-06")
    ingest()
    assert caches()["days"] == 1  # day 4 computed incrementally, from its lookback only
    with open_warehouse(settings) as wh:
        bars = wh.query_df(
            "SELECT venue, symbol, ts, open, high, low, close, buy_volume, sell_volume FROM bars_1m FINAL ORDER BY ts"
        )
    full = compute_features(bars).drop("venue", "symbol")
    cached = _cold(settings, "features_1m").select("ts", *FEATURE_COLUMNS)
    assert cached.height == full.height == 4 * 1440
    boundary = (pl.col("ts") >= datetime(2024, 6, 5, 23, tzinfo=UTC)) & (
        pl.col("ts") < datetime(2024, 6, 6, 2, tzinfo=UTC)
    )
    assert_frame_equal(
        cached.filter(boundary),
        full.filter(boundary).select(cached.columns),
        check_dtypes=False,
        rel_tol=1e-9,
        abs_tol=1e-12,
    )
    assert_frame_equal(cached, full.select(cached.columns), check_dtypes=False, rel_tol=1e-9, abs_tol=1e-12)


def test_verify_is_clean_then_catches_an_altered_file(settings: Settings) -> None:
    from typer.testing import CliRunner

    from flows.caches import caches
    from flows.ingest import ingest
    from marketops.cli import app

    _land(settings, SampleSpec(symbols=1, days=1, inject=False, fx_share=0))
    ingest()
    caches()
    runner = CliRunner()
    clean = runner.invoke(app, ["caches", "verify"])
    assert clean.exit_code == 0 and "match the manifest" in clean.output
    store = LocalColdStore.from_settings(settings)
    victim = next(p for p in store.list("bars_5m/**/data.parquet"))
    frame = pl.read_parquet(store.path(victim))
    frame.with_columns(pl.col("close") * 1.0001).write_parquet(store.path(victim))
    tampered = runner.invoke(app, ["caches", "verify"])
    assert tampered.exit_code == 1 and victim in tampered.output and "sha256" in tampered.output


KILLED_BUILD = textwrap.dedent(
    """
    import os
    from datetime import UTC, datetime
    import polars as pl
    import storage.cold.store as cold
    from core.settings import load_settings
    from tasks.caches import build_symbol_caches, plan_caches

    def write_then_die(self, relative, data, durable=True):
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        (target.parent / (cold.TMP_PREFIX + target.name + ".killed")).write_bytes(data[: len(data) // 2])
        os._exit(9)  # killed half-way through the first file
    cold.LocalColdStore.write_bytes = write_then_die
    settings = load_settings()
    plan = plan_caches.fn(settings, True, None)
    batch = plan["batches"][0]
    build_symbol_caches.fn(
        settings, batch["venue"], batch["symbol"], batch["days"], plan["watermark"], datetime.now(UTC)
    )
    """
)


def test_a_build_killed_part_way_leaves_no_half_written_file_visible(settings: Settings) -> None:
    from flows.caches import caches
    from flows.ingest import ingest

    _land(settings, SampleSpec(symbols=1, days=1, inject=False, fx_share=0))
    ingest()
    child = subprocess.run(
        [sys.executable, "-c", KILLED_BUILD], capture_output=True, text=True, timeout=300, env=os.environ.copy()
    )
    assert child.returncode == 9, child.stderr[-2000:]
    store = LocalColdStore.from_settings(settings)
    assert store.list() == [] and read_manifest(store).height == 0  # nothing half-written is visible
    caches()
    assert verify(store) == [] and not list(store.root.rglob(".tmp-*"))  # the next build cleans up and is whole
    assert read_manifest(store).height > 0
