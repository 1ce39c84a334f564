"""The cold tier never misses a change, repairs what verify flags, stays readable while it rebuilds, and is
byte-identical when rebuilt from the same data."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from typer.testing import CliRunner

from core.settings import Settings
from storage.cold.manifest import read_manifest, verify
from storage.cold.store import LocalColdStore
from storage.warm import open_warehouse
from storage.warm.schema import migrate
from tests.warm_helpers import bars_frame

pytestmark = pytest.mark.usefixtures("prefect_api")

DAY1 = datetime(2024, 6, 3, tzinfo=UTC)


def _load(settings: Settings, day: datetime, version: int, symbol: str = "BTCUSDT", close: float = 100.0) -> None:
    """One day of 1m bars of one symbol, committed with ``version`` (a batch's start time in real ingests)."""
    n = 1440
    frame = bars_frame(
        {
            "venue": "binance",
            "symbol": symbol,
            "ts": [day + timedelta(minutes=i) for i in range(n)],
            "open": [close + (i % 7) * 0.1 for i in range(n)],
            "high": [close + 1 + (i % 7) * 0.1 for i in range(n)],
            "low": [close - 1 for _ in range(n)],
            "close": [close + (i % 5) * 0.1 for i in range(n)],
            "volume": [1.0 + (i % 11) / 3 for i in range(n)],
            "trades": 1,
            "quote_volume": 1.0,
            "source_id": 1,
            "version": version,
        }
    )
    with open_warehouse(settings) as wh:
        migrate(wh)
        wh.insert_df("bars_1m", frame)


def _cold_days(settings: Settings) -> set[str]:
    """The UTC days the cold 1m files hold (one row group each), as ``date=YYYY-MM-DD``."""
    cold = pl.read_parquet(str(settings.cold_dir / "bars_1m" / "**" / "*.parquet"), hive_partitioning=True)
    return {f"date={d.isoformat()}" for d in cold.get_column("ts").dt.date().unique()}


def test_a_batch_that_started_early_and_committed_late_still_reaches_the_cold_tier(settings: Settings) -> None:
    from flows.caches import caches

    _load(settings, DAY1, version=200)  # batch B started later but committed first
    assert caches()["days"] == 1
    _load(settings, DAY1 + timedelta(days=1), version=100)  # batch A, started earlier, commits after the build
    second = caches()
    assert second["days"] == 1  # before: "0 changed days", the version watermark was already past 100
    assert _cold_days(settings) == {"date=2024-06-03", "date=2024-06-04"}
    assert caches()["days"] == 0  # and nothing is rebuilt twice


def test_a_batch_committing_during_a_build_is_caught_by_the_next_build(settings: Settings) -> None:
    """The interleaving of issue 13, step by step: plan, a late batch commits, build and publish, build again."""
    from flows.caches import caches
    from tasks.caches import build_symbol_caches, plan_caches, publish_caches

    _load(settings, DAY1, version=200)
    now = datetime.now(UTC)
    plan = plan_caches.fn(settings, False, None)
    _load(settings, DAY1 + timedelta(days=1), version=100)  # commits while the build runs
    _load(settings, DAY1, version=150, close=101.0)  # and rewrites part of the planned day too
    rows, sources = [], []
    for batch in plan["batches"]:
        rows += build_symbol_caches.fn(settings, batch["venue"], batch["symbol"], batch["days"], plan["watermark"], now)
        sources += batch["sources"]
    publish_caches.fn(settings, rows, plan["watermark"], now, sources, plan["stale"])
    assert caches()["days"] >= 1
    assert _cold_days(settings) == {"date=2024-06-03", "date=2024-06-04"}
    result = CliRunner().invoke(__import__("marketops.cli", fromlist=["app"]).app, ["caches", "verify"])
    assert result.exit_code == 0, result.output


def test_verify_compares_with_the_warm_tier_and_the_next_build_repairs_the_gap(settings: Settings) -> None:
    from flows.caches import caches
    from marketops.cli import app

    _load(settings, DAY1, version=1)
    caches()
    runner = CliRunner()
    assert runner.invoke(app, ["caches", "verify"]).exit_code == 0
    _load(settings, DAY1 + timedelta(days=1), version=1)  # in warm, not (yet) in cold
    _load(settings, DAY1, version=2, close=105.0)  # same rows, new content
    flagged = runner.invoke(app, ["caches", "verify"])
    assert flagged.exit_code == 1
    text = " ".join(flagged.output.split())
    assert "month=2024-06" in text and "day 2024-06-04: warm holds 1440 rows for this day, cold none" in text
    assert "day 2024-06-03: built from older warm content (content hash differs)" in text
    caches()
    assert runner.invoke(app, ["caches", "verify"]).exit_code == 0


def test_caches_build_repairs_every_file_that_verify_flags(settings: Settings) -> None:
    from flows.caches import caches

    _load(settings, DAY1, version=1)
    _load(settings, DAY1 + timedelta(days=1), version=1)
    caches()
    store = LocalColdStore.from_settings(settings)
    original = dict(read_manifest(store).select("path", "sha256").iter_rows())
    altered = next(p for p in store.list("bars_5m/**/data.parquet"))
    pl.read_parquet(store.path(altered)).with_columns(pl.col("close") * 1.01).write_parquet(store.path(altered))
    missing = next(p for p in store.list("features_1m/**/data.parquet"))
    store.path(missing).unlink()
    stray = "bars_1m/venue=binance/symbol=BTCUSDT/month=2024-05/data.parquet"  # no warm day behind it
    store.write_parquet(stray, pl.DataFrame({"x": [1]}))
    assert {p["path"] for p in verify(store)} == {altered, missing, stray}
    summary = caches()
    assert verify(store) == []
    assert summary["stale_removed"] == 1 and not store.exists(stray)
    repaired = dict(read_manifest(store).select("path", "sha256").iter_rows())
    assert repaired[altered] == original[altered] and repaired[missing] == original[missing]


READER = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(con.execute("SELECT count(*) FROM bars_1m").fetchone()[0], flush=True)
    sys.stdin.readline()  # hold the catalog open while the parent rebuilds
    print(con.execute("SELECT count(*) FROM bars_1m").fetchone()[0], flush=True)
    """
)


def test_a_build_succeeds_while_a_researcher_holds_the_catalog_open(settings: Settings) -> None:
    import duckdb

    from flows.caches import caches

    _load(settings, DAY1, version=1)
    caches()
    catalog = settings.cold_dir / "catalog.duckdb"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(catalog)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline().strip() == "1440"
        _load(settings, DAY1 + timedelta(days=1), version=2)
        assert caches()["days"] == 1  # before: IOException "Could not set lock" on catalog.duckdb
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "2880"  # the open reader keeps working (views read the files)
    finally:
        reader.wait(timeout=60)
    with duckdb.connect(str(catalog), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM bars_5m").fetchone() is not None
    assert not list(settings.cold_dir.glob(".tmp-*"))


RESAMPLE_BYTES = textwrap.dedent(
    """
    import hashlib, io, sys
    from datetime import UTC, datetime, timedelta
    import numpy as np, polars as pl
    from core.resample import resample
    n = 300_000
    rng = np.random.default_rng(7)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    ts = pl.datetime_range(start, start + timedelta(minutes=n - 1), "1m", eager=True, time_unit="ms")
    price = 100 + rng.standard_normal(n).cumsum() * 0.01
    bars = pl.DataFrame({"venue": "binance", "symbol": "X", "ts": ts, "open": price, "high": price + 0.5,
        "low": price - 0.5, "close": price, "volume": rng.random(n) * 1e3,
        "trades": pl.Series(rng.integers(0, 100, n), dtype=pl.UInt32)})
    digest = hashlib.sha256()
    for timeframe in ("5m", "15m", "1h", "4h", "1d"):
        buffer = io.BytesIO()
        resample(bars, timeframe, "crypto", datetime(2030, 1, 1, tzinfo=UTC)).write_parquet(buffer)
        digest.update(buffer.getvalue())
    print(digest.hexdigest())
    """
)


def test_resampling_the_same_bars_gives_byte_identical_files_whatever_the_thread_count() -> None:
    digests = set()
    for threads in ("1", "2", "5"):
        done = subprocess.run(
            [sys.executable, "-c", RESAMPLE_BYTES],
            capture_output=True,
            text=True,
            timeout=300,
            env=os.environ.copy() | {"POLARS_MAX_THREADS": threads},
        )
        assert done.returncode == 0, done.stderr[-2000:]
        digests.add(done.stdout.strip())
    assert len(digests) == 1, digests  # before: volume/vwap sums differed by ~1e-12 between thread layouts


def test_two_clean_builds_of_the_same_data_are_byte_identical(settings: Settings) -> None:
    from flows.caches import caches

    for day in range(3):
        _load(settings, DAY1 + timedelta(days=day), version=1, close=100.0 + day)
    caches()
    store = LocalColdStore.from_settings(settings)
    first = {p: hashlib.sha256(store.path(p).read_bytes()).hexdigest() for p in store.list("**/data.parquet")}
    caches(full=True)
    second = {p: hashlib.sha256(store.path(p).read_bytes()).hexdigest() for p in store.list("**/data.parquet")}
    assert first == second and len(first) == 7  # one symbol-month file per dataset
    assert all("month=2024-06" in p for p in first)


def test_a_changed_day_rewrites_only_its_months_files(settings: Settings) -> None:
    from flows.caches import caches

    _load(settings, datetime(2024, 5, 20, tzinfo=UTC), version=1)
    _load(settings, datetime(2024, 6, 10, tzinfo=UTC), version=1)
    caches()
    store = LocalColdStore.from_settings(settings)
    before = {p: store.path(p).stat().st_mtime_ns for p in store.list("**/data.parquet")}
    assert len(before) == 14  # 7 datasets x 2 symbol-months
    _load(settings, datetime(2024, 6, 10, tzinfo=UTC), version=2, close=103.0)  # one day's content changes
    assert caches()["days"] == 1
    after = {p: store.path(p).stat().st_mtime_ns for p in store.list("**/data.parquet")}
    rewritten = {p for p in after if after[p] != before[p]}
    assert rewritten == {p for p in after if "/month=2024-06/" in p} and len(rewritten) == 7
    assert verify(store) == []
    june = pl.read_parquet(store.path("bars_1m/venue=binance/symbol=BTCUSDT/month=2024-06/data.parquet"))
    assert june.height == 1440 and june.filter(pl.col("close") < 103.0).height == 0  # the new content


def test_a_cache_of_the_first_daily_layout_is_rebuilt_in_the_monthly_layout(settings: Settings) -> None:
    """Migration: daily ``date=`` files (and their manifest rows, without per-day columns) are detected, every
    day is rebuilt into monthly files, and the old files are removed."""
    from flows.caches import caches
    from marketops.cli import app
    from storage.cold.base import parquet_bytes, sha256_hex

    _load(settings, DAY1, version=1)
    _load(settings, DAY1 + timedelta(days=1), version=1)
    store = LocalColdStore.from_settings(settings)
    with open_warehouse(settings) as wh:
        bars = wh.query_df("SELECT ts, open, high, low, close FROM bars_1m FINAL ORDER BY ts")
    old_rows = []
    for day in (DAY1, DAY1 + timedelta(days=1)):
        path = f"bars_1m/venue=binance/symbol=BTCUSDT/date={day.date().isoformat()}/data.parquet"
        data = parquet_bytes(bars.filter(pl.col("ts").dt.date() == day.date()))
        store.write_bytes(path, data)
        old_rows.append({"path": path, "dataset": "bars_1m", "venue": "binance", "symbol": "BTCUSDT",
                         "period": day.date().isoformat(), "rows": 1440, "sha256": sha256_hex(data),
                         "source_version": 1, "built_at": datetime.now(UTC)})  # fmt: skip
    store.write_parquet("_manifest/cache_files.parquet", pl.DataFrame(old_rows))  # the old manifest's columns
    summary = caches()
    assert summary["legacy_layout_files_removed"] == 2 and summary["days"] == 2
    assert store.list("**/date=*/data.parquet") == []
    assert set(read_manifest(store)["path"]) == set(store.list("**/data.parquet"))
    assert len(store.list("**/data.parquet")) == 7 and verify(store) == []
    assert _cold_days(settings) == {"date=2024-06-03", "date=2024-06-04"}
    assert CliRunner().invoke(app, ["caches", "verify"]).exit_code == 0
    assert caches()["days"] == 0  # migrated once
