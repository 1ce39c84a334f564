"""Validate memory: peak RSS of validating a whole range, at two sizes, with and without the row-bounded batches.

Usage: python bench/validate_memory.py [--rows 1000000,4000000] [--batch-rows 1000000]

For each size a child process loads the bars of ``bench/validate.py`` (50 symbols, planted trouble) into a fresh
embedded warehouse, with one ``ingest_files`` row per symbol as an ingest would leave. Then, each in a child
process of its own so its peak RSS (``VmHWM``, see ``bench/peak_rss.py``) is that run's alone, the validate tasks'
own functions run over the whole range exactly as the flow sequences them (plan, one ``check_symbols`` per batch,
``judge_range``): once with ``validate_batch_rows`` (tasks bounded by the bars they read) and once with it at the
maximum (every symbol of the range in one task, the behaviour before). Memory bounded by the batch shows as a peak
that stays flat while the rows grow; the unbounded run grows with them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import polars as pl

from bench.peak_rss import peak_rss_mib
from core.settings import Settings, load_settings

UNBOUNDED = 10**12


def _bench_validate() -> Any:
    spec = importlib.util.spec_from_file_location("bench_validate", ROOT / "bench" / "validate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_validate"] = module
    spec.loader.exec_module(module)
    return module


def load(home: Path, rows: int) -> int:
    """Child: the bars and their per-symbol manifest rows into a fresh warehouse."""
    from storage.warm import open_warehouse
    from storage.warm.schema import migrate

    bars = (
        _bench_validate()
        .make_bars(rows)
        .with_columns(
            pl.lit(1, pl.UInt32).alias("trades"),
            pl.lit(float("nan")).alias("quote_volume"),
            pl.lit(1, pl.UInt64).alias("version"),
        )
    )
    with open_warehouse(load_settings(home=home)) as warehouse:
        migrate(warehouse)
        for start in range(0, bars.height, 1_000_000):
            warehouse.insert_df("bars_1m", bars.slice(start, 1_000_000))
        warehouse.execute(
            "INSERT INTO ingest_files (path, venue, symbol, first_ts, last_ts, rows_read, rows_loaded, status) "
            "SELECT concat('bench/', symbol, '.csv'), venue, symbol, min(ts), max(ts), count(), count(), 'loaded' "
            "FROM bars_1m GROUP BY venue, symbol"
        )
    return int(bars.height)


def validate_all(home: Path, batch_rows: int) -> dict[str, float]:
    """Child: the validate tasks' functions over every day of the data, as the flow runs them."""
    from storage.warm import open_warehouse
    from tasks.validate import check_symbols, judge_range, plan_validation

    settings: Settings = load_settings(home=home).model_copy(update={"validate_batch_rows": batch_rows})
    with open_warehouse(settings) as warehouse:
        first_ts, last_ts = warehouse.query_df("SELECT min(ts) AS a, max(ts) AS b FROM bars_1m").row(0)
    first, last, now = first_ts.date(), last_ts.date(), datetime.now(UTC)
    started = time.perf_counter()
    batches = plan_validation.fn(settings, first, last, now)
    counts = [check_symbols.fn(settings, batch, first, last, now, "bench") for batch in batches]
    rates = judge_range.fn(settings, first, last, now, "bench", counts)
    return {
        "seconds": time.perf_counter() - started,
        "batches": len(batches),
        "rows_checked": float(rates["rows_checked"]),
        "peak_mib": peak_rss_mib(),
    }


def _child(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True, cwd=ROOT, timeout=3600
    )
    return done.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000000,4000000", help="sizes to compare (comma-separated)")
    parser.add_argument("--batch-rows", type=int, default=1_000_000, help="validate_batch_rows of the bounded run")
    parser.add_argument("--child", nargs=3, metavar=("WHAT", "HOME", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        what, home, n = args.child
        if what == "load":
            print(load(Path(home), int(n)))
        else:
            print(json.dumps(validate_all(Path(home), int(n))))
        return 0
    sizes = [int(n) for n in args.rows.split(",") if n.strip()]
    print("| rows | batches | seconds | peak RSS MiB | task bound |\n|---:|---:|---:|---:|---|")
    peaks: dict[str, list[float]] = {"bounded": [], "one task": []}
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="marketops-bench-") as tmp:
            print(f"loading {size:,} rows ...", file=sys.stderr, flush=True)
            _child("--child", "load", tmp, str(size))
            for label, bound in (("bounded", args.batch_rows), ("one task", UNBOUNDED)):
                result = json.loads(_child("--child", "validate", tmp, str(bound)))
                peaks[label].append(result["peak_mib"])
                print(
                    f"| {int(result['rows_checked']):,} | {int(result['batches'])} | {result['seconds']:.1f} | "
                    f"{result['peak_mib']:,.0f} | {label} |",
                    flush=True,
                )
    if len(sizes) > 1:
        growth = sizes[-1] / sizes[0]
        for label, values in peaks.items():
            print(f"{label}: {growth:.0f}x the rows -> {values[-1] / values[0]:.2f}x the peak RSS")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
