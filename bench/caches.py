"""Cache build throughput on >= 10M 1m bars, all measured in the same run:

- baseline: polars' raw read of the 1m Parquet dataset the build wrote;
- stages on the same bars: export (1m daily files), the five resamples, features (polars) and the same
  features in pandas;
- the caches flow end to end (warm fetch, export, resamples, features, manifest, DuckDB views), run in a child
  process at two sizes (``--small-rows`` and ``--rows``), each child printing its own peak RSS (``VmHWM``,
  see ``bench/peak_rss.py``): memory is bounded by a batch (a symbol's <= 3 months), so it should stay flat as
  the input grows;
- the floor of any rebuild, each part timed alone: the warm read of the bars (per symbol, FINAL, as the build
  reads them) and the writes of the two day-grouped datasets (1m bars and features: zstd, a row group per day).
  Their sum against the raw read says how close to the goal a rebuild can get on this machine.

Usage: python bench/caches.py [--rows 10000000] [--small-rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import numpy as np
import pandas as pd
import polars as pl

from bench.peak_rss import peak_rss_kib
from core.cache_plan import day_rows
from core.features import compute_features
from core.resample import TIMEFRAMES, resample_all
from core.settings import Settings, load_settings
from storage.cold.base import parquet_bytes_by_day
from storage.warm import open_warehouse
from storage.warm.cache_source import bars_between
from storage.warm.schema import migrate
from validation.contracts import BARS_COLUMNS

SYMBOLS = 20


def make_bars(days: int) -> pl.DataFrame:
    minutes = days * 1440
    n = SYMBOLS * minutes
    rng = np.random.default_rng(11)
    close = 100 * np.exp(np.cumsum(rng.standard_normal(n) * 1e-3))
    spread = np.abs(rng.standard_normal(n)) * 1e-3
    return (
        pl.DataFrame(
            {
                "venue": "binance",
                "symbol": np.repeat([f"S{i:02d}USDT" for i in range(SYMBOLS)], minutes),
                "ts": np.tile(np.arange(minutes, dtype=np.int64) * 60_000, SYMBOLS)
                + int(datetime(2023, 1, 1, tzinfo=UTC).timestamp() * 1000),
                "open": close * (1 + spread / 3),
                "high": close * (1 + spread),
                "low": close * (1 - spread),
                "close": close,
                "volume": rng.random(n),
                "trades": rng.integers(1, 100, n).astype(np.uint32),
                "quote_volume": close,
                "source_id": np.uint64(1),
                "version": np.uint64(1),
            }
        )
        .with_columns(pl.col("ts").cast(pl.Datetime("ms", "UTC")))
        .select(BARS_COLUMNS)
    )


def pandas_features(frame: pd.DataFrame) -> pd.DataFrame:
    """The same features as core.features, written the usual pandas way."""
    out = frame.sort_values(["venue", "symbol", "ts"]).copy()
    grouped = out.groupby(["venue", "symbol"], sort=False)
    prev = grouped["close"].shift(1)
    out["ret"] = out["close"] / prev - 1
    out["log_ret"] = np.log(out["close"] / prev)
    out["sma_20"] = grouped["close"].transform(lambda s: s.rolling(20).mean())
    out["ema_20"] = grouped["close"].transform(lambda s: s.ewm(span=20, adjust=False).mean())
    delta = out["close"] - prev
    out["_gain"] = delta.clip(lower=0).fillna(0)
    out["_loss"] = (-delta).clip(lower=0).fillna(0)
    avg_gain = out.groupby(["venue", "symbol"], sort=False)["_gain"].transform(
        lambda s: s.ewm(alpha=1 / 14, adjust=False).mean()
    )
    avg_loss = out.groupby(["venue", "symbol"], sort=False)["_loss"].transform(
        lambda s: s.ewm(alpha=1 / 14, adjust=False).mean()
    )
    out["rsi_14"] = np.where(avg_loss == 0, np.where(avg_gain == 0, 50.0, 100.0), 100 - 100 / (1 + avg_gain / avg_loss))
    true_range = pd.concat(
        [out["high"] - out["low"], (out["high"] - prev).abs(), (out["low"] - prev).abs()], axis=1
    ).max(axis=1)
    out["_tr"] = true_range
    out["atr_14"] = out.groupby(["venue", "symbol"], sort=False)["_tr"].transform(
        lambda s: s.ewm(alpha=1 / 14, adjust=False).mean()
    )
    out["_lr2"] = out["log_ret"] ** 2
    out["rv_60"] = np.sqrt(
        out.groupby(["venue", "symbol"], sort=False)["_lr2"].transform(lambda s: s.rolling(60).sum())
    )
    mean_60 = grouped["close"].transform(lambda s: s.rolling(60).mean())
    std_60 = grouped["close"].transform(lambda s: s.rolling(60).std())
    out["zscore_60"] = np.where(std_60 > 0, (out["close"] - mean_60) / std_60, np.nan)
    return out[
        ["venue", "symbol", "ts", "ret", "log_ret", "sma_20", "ema_20", "rsi_14", "atr_14", "rv_60", "zscore_60"]
    ]


T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def build_child() -> int:
    """In a child process (``--build-child``): the full rebuild alone; prints seconds, files and peak RSS."""
    from prefect.testing.utilities import prefect_test_harness

    from flows.caches import caches

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process (chDB's and polars' too)
        return usage.ru_utime + usage.ru_stime

    with prefect_test_harness(server_startup_timeout=90):
        before = cpu()
        summary, seconds = timed(lambda: caches(full=True))
        cpu_s = cpu() - before
    peak_kb = peak_rss_kib()  # this process only (the harness server is apart; not the parent's: see peak_rss)
    print(json.dumps({"seconds": seconds, "cpu": cpu_s, "files": summary["files_written"], "peak_kb": peak_kb}))
    return 0


def load_warm(home: Path, rows: int) -> pl.DataFrame:
    """``rows`` (rounded up to whole days) bars of SYMBOLS symbols, inserted into a fresh warm tier under ``home``
    by a child process (one embedded engine per process and data path), and returned for the in-process stages."""
    days = max(1, -(-rows // (SYMBOLS * 1440)))
    env = {**os.environ, "MARKETOPS_HOME": str(home)}
    child = subprocess.run(
        [sys.executable, __file__, "--load-child", str(days)], env=env, capture_output=True, text=True, timeout=7200
    )
    if child.returncode != 0:
        raise SystemExit(f"load child failed: {child.stderr[-3000:]}")
    os.environ["MARKETOPS_HOME"] = str(home)
    return make_bars(days)


def load_child(days: int) -> int:
    """In a child process (``--load-child DAYS``): insert the bars into the warm tier of ``$MARKETOPS_HOME``."""
    bars = make_bars(days)
    with open_warehouse(load_settings()) as wh:
        migrate(wh)
        wh.insert_df("bars_1m", bars)
        wh.optimize("bars_1m")  # merged now, as the nightly optimize leaves it: the rebuild's RSS is not the merge's
    return 0


def rebuild_in_child(home: Path) -> dict[str, float]:
    """Run the caches flow's full rebuild in a fresh process over the warm tier under ``home``."""
    env = {**os.environ, "MARKETOPS_HOME": str(home)}
    child = subprocess.run(
        [sys.executable, __file__, "--build-child"], env=env, capture_output=True, text=True, timeout=7200
    )
    if child.returncode != 0:
        raise SystemExit(f"rebuild child failed: {child.stderr[-3000:]}")
    result: dict[str, float] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def rebuild_floor(settings: Settings, bars: pl.DataFrame, out: Path) -> list[tuple[str, int, float]]:
    """What no rebuild can skip, timed alone: read every symbol's bars from the warm tier as the build does
    (FINAL, per symbol), and write the 1m bars and the features as month files with a row group per day."""
    symbols = bars.get_column("symbol").unique(maintain_order=True).to_list()
    first, last = bars.get_column("ts").min(), bars.get_column("ts").max()
    assert isinstance(first, datetime) and isinstance(last, datetime)
    start, end = first, last + timedelta(minutes=1)
    with open_warehouse(settings) as warehouse:
        read, read_s = timed(lambda: [bars_between(warehouse, "binance", s, start, end) for s in symbols])
    features = compute_features(bars)
    out.mkdir()

    def write(frames: list[pl.DataFrame], name: str) -> None:
        for i, frame in enumerate(frames):
            months = frame.with_columns(pl.col("ts").dt.month().alias("_month"))
            for (month,), part in months.partition_by("_month", as_dict=True, include_key=False).items():
                part = part.drop("venue", "symbol")
                (out / f"{name}-{i}-{month}.parquet").write_bytes(parquet_bytes_by_day(part, day_rows(part)))

    per_symbol = features.partition_by("symbol", maintain_order=True)
    _, bars_s = timed(lambda: write(read, "bars"))
    _, features_s = timed(lambda: write(per_symbol, "features"))
    n = bars.height
    return [
        ("floor: warm read of the 1m bars (per symbol, FINAL)", n, read_s),
        ("floor: write 1m month files (zstd, a row group per day)", n, bars_s),
        ("floor: write features month files (zstd, a row group per day)", n, features_s),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--small-rows", type=int, default=0, help="second size for the RSS check (default rows/10)")
    parser.add_argument("--build-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--load-child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_child:
        return build_child()
    if args.load_child:
        return load_child(args.load_child)
    table: list[tuple[str, int, float]] = []
    with tempfile.TemporaryDirectory(prefix="marketops-bench-caches-") as tmp:
        small_rows = load_warm(Path(tmp) / "small", args.small_rows or max(1, args.rows // 10)).height
        small = rebuild_in_child(Path(tmp) / "small")
        bars = load_warm(Path(tmp) / "home", args.rows)
        rows = bars.height
        settings = load_settings()
        print(f"{rows:,} bars of {SYMBOLS} symbols x {rows // SYMBOLS // 1440} days in the warm tier", flush=True)
        big = rebuild_in_child(Path(tmp) / "home")
        full_s = big["seconds"]
        summary = {"files_written": int(big["files"])}
        root = settings.cold_dir
        read, read_s = timed(
            lambda: pl.read_parquet(str(root / "bars_1m" / "**" / "*.parquet"), hive_partitioning=True)
        )
        assert read.height == rows, (read.height, rows)
        table.append(("polars raw Parquet read of bars_1m (baseline)", rows, read_s))

        export_dir = Path(tmp) / "export"
        export_dir.mkdir()

        def export() -> None:
            for (symbol,), part in bars.partition_by("symbol", as_dict=True).items():
                part.drop("venue", "symbol").write_parquet(export_dir / f"{symbol}.parquet", compression="zstd")

        _, export_s = timed(export)
        table.append(("export 1m to Parquet (one file per symbol)", rows, export_s))
        now = datetime.now(UTC)
        _, resample_s = timed(lambda: resample_all(bars, TIMEFRAMES, "crypto", now))
        table.append(("five resamples 1m -> 5m/15m/1h/4h/1d (polars)", rows, resample_s))
        _, features_s = timed(lambda: compute_features(bars))
        table.append(("features (polars)", rows, features_s))
        as_pandas = bars.select("venue", "symbol", "ts", "open", "high", "low", "close").to_pandas()
        _, pandas_s = timed(lambda: pandas_features(as_pandas))
        table.append(("features (pandas, same definitions)", rows, pandas_s))
        table.append((f"caches flow, full rebuild ({summary['files_written']:,} files)", rows, full_s))
        floor = rebuild_floor(settings, bars, Path(tmp) / "floor")
        table += floor

    base = rows / read_s
    print("\n| stage | rows | seconds | rows/s | vs raw read |\n|---|---:|---:|---:|---:|")
    for name, n, seconds in table:
        print(f"| {name} | {n:,} | {seconds:.2f} | {n / seconds:,.0f} | {n / seconds / base:.2f}x |")
    speedup = pandas_s / features_s
    rebuild = (rows / full_s) / base
    print(f"\ngoal: features >= 12.5x pandas: {'met' if speedup >= 12.5 else 'NOT met'} ({speedup:.1f}x)")
    print(
        f"goal: full rebuild >= 1/10 of the raw Parquet read: {'met' if rebuild >= 0.1 else 'NOT met'} ({rebuild:.3f}x)"
    )
    floor_s = sum(seconds for _, _, seconds in floor)
    print(
        f"floor of a rebuild (warm read + 1m and features day-grouped writes, nothing else): {floor_s:.2f} s = "
        f"{(rows / floor_s) / base:.3f}x of the raw read; the rebuild took {full_s / floor_s:.2f}x the floor "
        f"({big['cpu']:.2f} s of CPU in the rebuild process, load average {os.getloadavg()[0]:.1f})"
    )
    growth = big["peak_kb"] / small["peak_kb"]
    print(
        f"peak RSS of the rebuild process: {small['peak_kb'] / 1024:,.0f} MiB at {small_rows:,} rows, "
        f"{big['peak_kb'] / 1024:,.0f} MiB at {rows:,} rows "
        f"({rows / small_rows:.0f}x the rows, {growth:.2f}x the RSS); "
        f"goal: flat (<= 1.5x): {'met' if growth <= 1.5 else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
