"""Ingest throughput: rows/s and MB/s per stage beside polars' raw glob read of the same files.

Usage: python bench/ingest.py [--rows 10000000] [--data DIR] [--family-rows 200000] [--families-only]
       python bench/ingest.py --runner dask --workers 1,2 [--rows 1000000] [--batch-files 8]

Generates deterministic Binance-layout daily files once (cached under bench/.data), then measures in
one run: polars' raw glob read (the baseline), parse, contracts + gate checks, load into a fresh
embedded warehouse, and the real ingest flow end to end on another fresh home. Goals are ratios to the
baseline measured here, never absolute seconds. Then a per-reader-family table
(``bench/reader_families.py``): every built-in reader beside polars' raw read of the same bytes.

``--runner dask`` instead runs the ingest flow end to end on the same files with the thread runner and
then on Dask LocalClusters of each ``--workers`` count (fresh home each), and prints the scaling ratio
between worker counts. Clusters are started (and their workers' imports warmed) before the clock starts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import polars as pl

from bench.reader_families import measure, table
from core.batching import plan_batches
from core.parse import ReadOptions, parse_files
from core.samples import MINUTES, SampleSpec, generate
from core.settings import load_settings
from storage.landing import list_files, read_file, write_file
from storage.warm import open_warehouse
from storage.warm.ingest_ledger import write_batch
from storage.warm.schema import migrate
from validation.batch import judge_batch


@dataclass
class Stage:
    name: str
    rows: int
    seconds: float
    nbytes: int

    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


def ensure_data(rows: int, data_root: Path) -> Path:
    symbols = 20
    days = max(1, -(-rows // (symbols * MINUTES)))
    target = data_root / f"crypto-{symbols}x{days}"
    marker = target / ".complete"
    if marker.exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    print(f"generating {symbols} symbols x {days} days = {symbols * days * MINUTES:,} rows in {target} ...", flush=True)
    for sample in generate(
        SampleSpec(symbols=symbols, days=days, inject=False, fx_share=0.0, start=datetime(2023, 1, 1).date())
    ):
        write_file(target, sample.relative_path, sample.data)
    marker.touch()
    return target


def baseline(data: Path, nbytes: int) -> Stage:
    start = time.perf_counter()
    frame = pl.read_csv(str(data / "**" / "*.csv"), has_header=False)
    return Stage("polars raw glob read (baseline)", frame.height, time.perf_counter() - start, nbytes)


def staged(data: Path, home: Path, nbytes: int) -> list[Stage]:
    settings = load_settings(home=home)
    listing = list_files([data])
    batches = plan_batches(listing, settings.ingest_batch_max_files, max_bytes=settings.ingest_batch_max_bytes)
    timings = {"parse (read + sha256 + reader)": 0.0, "contracts + gate checks": 0.0, "load into warm (chDB)": 0.0}
    rows = 0
    with open_warehouse(settings) as warehouse:
        migrate(warehouse)
        for batch in batches:
            t0 = time.perf_counter()
            parsed = parse_files([(ref, *read_file(ref.path)) for ref in batch.files], ReadOptions())
            t1 = time.perf_counter()
            verdict = judge_batch(
                parsed, version=time.time_ns() // 1000, run_id="bench", threshold=0.05, now=datetime.now(UTC)
            )
            t2 = time.perf_counter()
            write_batch(
                warehouse,
                [(p.ref.path, p.sha256) for p in parsed],
                verdict.bars,
                verdict.quarantine,
                verdict.anomalies,
                verdict.manifest,
            )
            t3 = time.perf_counter()
            timings["parse (read + sha256 + reader)"] += t1 - t0
            timings["contracts + gate checks"] += t2 - t1
            timings["load into warm (chDB)"] += t3 - t2
            rows += verdict.bars.height
        loaded = warehouse.query_scalar("SELECT count() FROM bars_1m")
    assert loaded == rows, (loaded, rows)
    return [Stage(name, rows, seconds, nbytes) for name, seconds in timings.items()]


def end_to_end(data: Path, home: Path, nbytes: int) -> Stage:
    os.environ["MARKETOPS_HOME"] = str(home)
    from prefect.testing.utilities import prefect_test_harness

    from flows.ingest import ingest

    with prefect_test_harness(server_startup_timeout=90):
        start = time.perf_counter()
        summary = ingest(paths=[str(data)])
        seconds = time.perf_counter() - start
    return Stage(
        f"end to end: ingest flow ({load_settings().ingest_workers} workers)",
        int(summary["rows_loaded"]),
        seconds,
        nbytes,
    )


def _flow_run(data: Path, home: Path, nbytes: int, name: str, env: dict[str, str]) -> Stage:
    """One timed ingest flow run on a fresh home with ``env`` applied (the settings are read inside the flow)."""
    from flows.ingest import ingest

    os.environ["MARKETOPS_HOME"] = str(home)
    os.environ.update(env)
    start = time.perf_counter()
    summary = ingest(paths=[str(data)])
    seconds = time.perf_counter() - start
    return Stage(name, int(summary["rows_loaded"]), seconds, nbytes)


def runner_stages(data: Path, tmp: Path, nbytes: int, workers: list[int], batch_files: int) -> list[Stage]:
    """The thread runner, then Dask with each worker count: same files, same batches, one Prefect API."""
    from distributed import Client, LocalCluster
    from prefect.testing.utilities import prefect_test_harness

    os.environ["MARKETOPS_INGEST_BATCH_MAX_FILES"] = str(batch_files)  # enough batches to spread
    stages = []
    with prefect_test_harness(server_startup_timeout=90):
        stages.append(
            _flow_run(
                data,
                tmp / "threads",
                nbytes,
                "ingest flow, thread runner (2 threads)",
                {"MARKETOPS_TASK_RUNNER": "thread"},
            )
        )
        for count in workers:
            with (
                LocalCluster(n_workers=count, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
                Client(cluster) as client,
            ):
                client.run(lambda: __import__("tasks.ingest"))  # workers import polars, prefect and ours untimed
                env = {
                    "MARKETOPS_TASK_RUNNER": "dask",
                    "MARKETOPS_DASK_ADDRESS": str(cluster.scheduler_address),
                    "MARKETOPS_INGEST_WORKERS": str(
                        count + 1
                    ),  # one batch loading in the flow while each worker judges
                }
                name = f"ingest flow, dask {count} worker process{'es' if count > 1 else ''}"
                stages.append(_flow_run(data, tmp / f"dask{count}", nbytes, name, env))
    return stages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="at least this many rows (default 10M)")
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / ".data", help="where generated files are cached")
    parser.add_argument("--runner", choices=["stages", "dask"], default="stages", help="dask: thread vs Dask workers")
    parser.add_argument("--workers", default="1,2", help="Dask worker process counts to measure (comma-separated)")
    parser.add_argument("--batch-files", type=int, default=8, help="files per batch task in --runner dask")
    parser.add_argument("--family-rows", type=int, default=200_000, help="rows per reader family (default 200k)")
    parser.add_argument("--families-only", action="store_true", help="only the per-reader-family table")
    args = parser.parse_args()
    if args.families_only:
        print(table(measure(args.family_rows)))
        print("\nsame rows, 30-day files (per-file overhead amortised):\n" + table(measure(args.family_rows, 30)))
        return 0
    data = ensure_data(args.rows, args.data)
    nbytes = sum(p.stat().st_size for p in data.rglob("*.csv"))
    files = sum(1 for _ in data.rglob("*.csv"))
    print(f"{files:,} files, {nbytes / 1e6:,.0f} MB", flush=True)
    for path in data.rglob("*.csv"):  # untimed: every stage, the baseline included, reads from the page cache
        path.read_bytes()
    counts = [int(n) for n in str(args.workers).split(",") if n.strip()]
    with tempfile.TemporaryDirectory(prefix="marketops-bench-") as tmp:
        stages = [baseline(data, nbytes)]
        if args.runner == "dask":
            stages += runner_stages(data, Path(tmp), nbytes, counts, args.batch_files)
        else:
            stages += staged(data, Path(tmp) / "staged", nbytes)
            stages.append(end_to_end(data, Path(tmp) / "e2e", nbytes))
    base = stages[0].rate()
    print()
    print("| stage | rows | seconds | rows/s | MB/s | vs raw read |")
    print("|---|---:|---:|---:|---:|---:|")
    for s in stages:
        print(
            f"| {s.name} | {s.rows:,} | {s.seconds:,.2f} | {s.rate():,.0f} | "
            f"{s.nbytes / 1e6 / s.seconds:,.1f} | {s.rate() / base:.2f}x |"
        )
    if args.runner == "dask":
        threads, dask = stages[1], stages[2:]
        print(f"\n{os.cpu_count()} CPUs visible; batches of {args.batch_files} files")
        for count, stage in zip(counts, dask, strict=True):
            print(
                f"dask {count} worker(s): {stage.rate() / dask[0].rate():.2f}x of dask {counts[0]}, "
                f"{stage.rate() / threads.rate():.2f}x of the thread runner"
            )
        return 0
    e2e = stages[-1].rate() / base
    print(f"\ngoal: end to end >= 0.50x of the raw glob read: {'met' if e2e >= 0.5 else 'NOT met'} ({e2e:.2f}x)")
    print("\n" + table(measure(args.family_rows)))
    print("\nsame rows, 30-day files (per-file overhead amortised):\n" + table(measure(args.family_rows, 30)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
