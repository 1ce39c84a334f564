"""Maintenance throughput: backup, incremental and restore MB/s beside a plain copy of the warehouse
directory, and optimize rows/s, on >= 10M bars, all measured in the same run.

Usage: python bench/maintenance.py [--rows 10000000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np
import polars as pl

from core.settings import load_settings
from storage.backups import snapshots as backups
from storage.backups.factory import backup_target
from storage.warm import open_warehouse
from storage.warm.optimize import optimize_partition, part_stats
from storage.warm.schema import OPTIMIZE_TABLES, migrate
from validation.contracts import BARS_COLUMNS

SYMBOLS = 20
START = datetime(2023, 1, 1, tzinfo=UTC)


def day_of_bars(day: int, rng: np.random.Generator) -> pl.DataFrame:
    minutes = 1440
    n = SYMBOLS * minutes
    close = 100 * np.exp(np.cumsum(rng.standard_normal(n) * 1e-3))
    return (
        pl.DataFrame(
            {
                "venue": "binance",
                "symbol": np.repeat([f"SYM{i:02d}USDT" for i in range(SYMBOLS)], minutes),
                "ts": np.tile(np.arange(minutes, dtype=np.int64) * 60_000, SYMBOLS)
                + int((START + timedelta(days=day)).timestamp() * 1000),
                "open": close,
                "high": close * 1.001,
                "low": close * 0.999,
                "close": close,
                "volume": rng.random(n),
                "trades": rng.integers(1, 100, n).astype(np.uint32),
                "quote_volume": close,
                "source_id": np.uint64(day),
                "version": np.uint64(1),
            }
        )
        .with_columns(pl.col("ts").cast(pl.Datetime("ms", "UTC")))
        .select(BARS_COLUMNS)
    )


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    days = max(1, -(-args.rows // (SYMBOLS * 1440)))
    rng = np.random.default_rng(7)
    rows_table: list[tuple[str, float, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="marketops-bench-maint-") as tmp:
        settings = load_settings(home=Path(tmp) / "home")
        target = backup_target(settings)
        with open_warehouse(settings) as wh:
            migrate(wh)
            print(f"loading {days} days x {SYMBOLS} symbols = {days * SYMBOLS * 1440:,} bars ...", flush=True)
            for day in range(days):
                wh.insert_df("bars_1m", day_of_bars(day, rng))
            parts = part_stats(wh, OPTIMIZE_TABLES).filter(pl.col("table") == "bars_1m")
            total_rows = int(parts["rows"].sum())

            t = time.perf_counter()
            for partition in parts["partition"].to_list():
                optimize_partition(wh, "bars_1m", partition, None, 0)
            optimize_s = time.perf_counter() - t
            rows_table.append(
                (
                    "optimize FINAL (all partitions)",
                    total_rows / optimize_s,
                    0.0,
                    f"{int(parts['active_parts'].sum())} parts -> {parts.height}",
                )
            )

            warehouse_bytes = dir_bytes(settings.warehouse_dir)
            t = time.perf_counter()
            shutil.copytree(settings.warehouse_dir, Path(tmp) / "plain-copy")
            copy_s = time.perf_counter() - t
            copy_rate = warehouse_bytes / 1e6 / copy_s
            rows_table.append(
                (
                    "plain copy of the warehouse dir (baseline)",
                    total_rows / copy_s,
                    copy_rate,
                    f"{warehouse_bytes / 1e6:,.0f} MB",
                )
            )

            now = datetime(2024, 6, 1, tzinfo=UTC)
            full = backups.take_snapshot(wh, target, now, force_full=True)
            rows_table.append(
                (
                    "backup full",
                    full.rows / full.seconds,
                    full.size_bytes / 1e6 / full.seconds,
                    f"{full.size_bytes / 1e6:,.0f} MB",
                )
            )

            ok, detail = backups.drill(wh, target, full.name)  # only a drill-verified snapshot can be a base
            assert ok, detail
            wh.insert_df("bars_1m", day_of_bars(days, rng))  # a day's ingest ...
            last = part_stats(wh, OPTIMIZE_TABLES).filter((pl.col("table") == "bars_1m") & (pl.col("active_parts") > 1))
            for partition in last["partition"].to_list():  # ... then the nightly optimize
                optimize_partition(wh, "bars_1m", partition, None, 0)
            inc = backups.take_snapshot(wh, target, now + timedelta(hours=6))
            ratio = inc.size_bytes / full.size_bytes
            rows_table.append(
                (
                    "backup incremental after a day + optimize",
                    inc.rows / inc.seconds,
                    inc.size_bytes / 1e6 / inc.seconds,
                    f"{inc.size_bytes / 1e6:,.1f} MB = {ratio:.1%} of full",
                )
            )

            wh.execute("CREATE DATABASE scratch")
            t = time.perf_counter()
            wh.restore(["bars_1m"], target.expression(inc.name), "scratch")
            restore_s = time.perf_counter() - t
            restored = int(wh.query_scalar("SELECT count() FROM scratch.bars_1m"))
            chain_bytes = full.size_bytes + inc.size_bytes
            restore_rate = chain_bytes / 1e6 / restore_s
            rows_table.append(
                ("restore newest (full + incremental chain)", restored / restore_s, restore_rate, f"{restored:,} rows")
            )

    print("\n| operation | rows/s | MB/s | note |\n|---|---:|---:|---|")
    for name, rps, mbs, note in rows_table:
        print(f"| {name} | {rps:,.0f} | {mbs:,.1f} | {note} |")
    print(
        f"\ngoal: restore >= 50% of plain copy: {'met' if restore_rate >= 0.5 * copy_rate else 'NOT met'} "
        f"({restore_rate / copy_rate:.0%})"
    )
    print(
        f"goal: incremental after a day's ingest + optimize < 10% of full: "
        f"{'met' if ratio < 0.10 else 'NOT met'} ({ratio:.1%})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
