"""Ingest throughput: rows/s and MB/s per stage beside polars' raw glob read of the same files.

Usage: python bench/ingest.py [--rows 1000000] [--data DIR] [--family-rows 200000] [--families-only] [--no-families]
       python bench/ingest.py --rows 10000000          # the big run (about 7,000 files)
       python bench/ingest.py --runner dask --workers 1,2 [--rows 1000000] [--batch-files 8]

Generates deterministic Binance-layout daily files once (cached under bench/.data), then measures in
one run: FIRST the real ingest flow end to end in a fresh Python process on a fresh home (nothing warmed by
the other stages; its import time and peak RSS — ``VmHWM`` of that process, chDB included — are printed),
then polars' raw glob read (the baseline), then the stages of a batch load with the task code itself
(read + sha256 + parse; judge; write into a fresh embedded warehouse). Goals are ratios to the baseline
measured here, never absolute seconds: end to end >= 0.5x the raw read, peak RSS flat from 1M to 10M rows
(<= 1.5 GB at 10M). Then a per-reader-family table (``bench/reader_families.py``): every built-in reader
beside polars' raw read of the same bytes.

``--runner dask`` instead runs the ingest flow end to end on the same files with the thread runner and
then on Dask LocalClusters of each ``--workers`` count (fresh home each), and prints the scaling ratio
between worker counts. Clusters are started (and their workers' imports warmed) before the clock starts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import polars as pl

from bench.peak_rss import peak_rss_kib
from bench.reader_families import measure, table
from core.batching import plan_batches
from core.parse import ReadOptions
from core.samples import MINUTES, SampleSpec, generate
from core.settings import load_settings
from storage.landing import list_files, write_file
from storage.warm import open_warehouse
from storage.warm.ingest_ledger import settled_rows
from storage.warm.schema import migrate


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
    """The batch load's own steps (``tasks.ingest``), one batch after another, each stage timed alone."""
    from tasks import ingest_lanes
    from tasks.ingest import judge_parsed, parse_batch_files, settled_versions_of, write_judged

    settings = load_settings(home=home)
    listing = list_files([data])
    batches = plan_batches(listing, settings.ingest_batch_max_files, max_bytes=settings.ingest_batch_max_bytes)
    names = ("read + sha256 + parse", "judge (contracts, normalise, gate)", "write into warm (chDB)")
    timings = dict.fromkeys(names, 0.0)
    rows = 0
    options = ReadOptions()
    with open_warehouse(settings) as warehouse:
        migrate(warehouse)
        for batch in batches:
            previous = settled_rows(warehouse, [ref.path for ref in batch.files])
            t0 = time.perf_counter()
            parsed = parse_batch_files(settings, batch, options, settled_versions_of(previous, False))
            t1 = time.perf_counter()
            judged = judge_parsed(warehouse, settings, parsed, previous, options, "bench", False)
            t2 = time.perf_counter()
            with ingest_lanes.STORE:
                outcomes = write_judged(warehouse, settings, judged, previous, options, "bench", False)
            t3 = time.perf_counter()
            for name, seconds in zip(names, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                timings[name] += seconds
            rows += sum(int(str(o["rows_loaded"])) for o in outcomes)
        loaded = warehouse.query_scalar("SELECT count() FROM bars_1m")
    assert loaded == rows, (loaded, rows)
    return [Stage(name, rows, seconds, nbytes) for name, seconds in timings.items()]


def end_to_end_child(data: Path, home: Path) -> None:
    """Run in a fresh process: import the flow, start a Prefect API, time the ingest flow, print JSON."""
    os.environ["MARKETOPS_HOME"] = str(home)
    start = time.perf_counter()
    from prefect.testing.utilities import prefect_test_harness

    from flows.ingest import ingest

    imported = time.perf_counter() - start
    with prefect_test_harness(server_startup_timeout=120):
        start = time.perf_counter()
        summary = ingest(paths=[str(data)])
        seconds = time.perf_counter() - start
    peak_kb = peak_rss_kib()  # this process, chDB included (not its parent's: see bench/peak_rss.py)
    result = {
        "rows": int(summary["rows_loaded"]),
        "seconds": seconds,
        "import_seconds": imported,
        "peak_rss_mb": peak_kb / 1024,
        "workers": load_settings().ingest_workers,
    }
    print("E2E " + json.dumps(result), flush=True)


def end_to_end(data: Path, home: Path) -> dict[str, float]:
    """The ingest flow end to end in a fresh Python process (no warm caches, its own imports and memory)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child-e2e", str(data), str(home)],
        capture_output=True,
        text=True,
        env=env,
        timeout=3600,
        check=False,
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("E2E ")), None)
    if proc.returncode != 0 or line is None:
        raise SystemExit(f"end-to-end child failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return dict(json.loads(line[4:]))


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
    if len(sys.argv) == 4 and sys.argv[1] == "--child-e2e":
        end_to_end_child(Path(sys.argv[2]), Path(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="at least this many rows (default 1M)")
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / ".data", help="where generated files are cached")
    parser.add_argument("--runner", choices=["stages", "dask"], default="stages", help="dask: thread vs Dask workers")
    parser.add_argument("--workers", default="1,2", help="Dask worker process counts to measure (comma-separated)")
    parser.add_argument("--batch-files", type=int, default=8, help="files per batch task in --runner dask")
    parser.add_argument("--family-rows", type=int, default=200_000, help="rows per reader family (default 200k)")
    parser.add_argument("--families-only", action="store_true", help="only the per-reader-family table")
    parser.add_argument("--no-families", action="store_true", help="skip the per-reader-family table")
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
    e2e: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="marketops-bench-") as tmp:
        if args.runner == "stages":  # first, in a fresh process: nothing below has warmed anything for it
            e2e = end_to_end(data, Path(tmp) / "e2e")
        stages = [baseline(data, nbytes)]
        if args.runner == "dask":
            stages += runner_stages(data, Path(tmp), nbytes, counts, args.batch_files)
        else:
            stages.append(
                Stage(
                    f"end to end: ingest flow, fresh process ({int(e2e['workers'])} workers)",
                    int(e2e["rows"]),
                    e2e["seconds"],
                    nbytes,
                )
            )
            stages += staged(data, Path(tmp) / "staged", nbytes)
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
    ratio = stages[1].rate() / base
    with_imports = (e2e["rows"] / (e2e["seconds"] + e2e["import_seconds"])) / base
    summed = sum(s.seconds for s in stages[2:])
    print(f"\nsum of the stages, one after another: {summed:,.2f} s; the flow overlaps them (and adds orchestration)")
    print(
        f"goal: end to end >= 0.50x of the raw glob read: {'met' if ratio >= 0.5 else 'NOT met'} ({ratio:.2f}x; "
        f"{with_imports:.2f}x counting the flow's imports, {e2e['import_seconds']:.1f} s)"
    )
    rss = e2e["peak_rss_mb"]
    print(
        f"peak RSS of the end-to-end process: {rss:,.0f} MB for {int(e2e['rows']):,} rows "
        f"(goal: flat from 1M to 10M rows, <= 1,536 MB at 10M)"
    )
    if not args.no_families:
        print("\n" + table(measure(args.family_rows)))
        print("\nsame rows, 30-day files (per-file overhead amortised):\n" + table(measure(args.family_rows, 30)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
