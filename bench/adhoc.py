"""What one ad-hoc command costs, in fresh processes, all measured in the same run:

- a second one-file `marketops ingest` (1,440 rows) without `marketops up` (the first one started the background
  Prefect server; the second reuses it) vs a bare Python process reading the same file with polars;
- `marketops status --json` vs a bare `python -c 'import polars'` (best of three each). The first status after
  the ingest opens the embedded warehouse; the next ones reuse its figures while the warehouse is unchanged
  (``storage/status_snapshot.py``): both are printed, the goal is on the repeated one.

Usage: python bench/adhoc.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.samples import SampleSpec, generate


def wall(args: list[str], env: dict[str, str], show: bool = False) -> float:
    start = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    if show:
        print(done.stdout.strip(), flush=True)
    return seconds


def main() -> int:
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="marketops-bench-adhoc-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env |= {"MARKETOPS_HOME": str(Path(tmp) / "home"), "PYTHONPATH": str(ROOT)}
        files = list(generate(SampleSpec(symbols=1, days=2, inject=False, fx_share=0.0)))[:2]
        paths = []
        for sample in files:
            path = Path(tmp) / "landing" / sample.relative_path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(sample.data)
            paths.append(path)
        try:
            first_s = wall([py, "-m", "marketops", "ingest", str(paths[0])], env, show=True)
            second_s = wall([py, "-m", "marketops", "ingest", str(paths[1])], env, show=True)
        finally:
            wall([py, "-m", "marketops", "down"], env)
        polars_read_s = wall([py, "-c", f"import polars as pl; pl.read_csv({str(paths[1])!r}, has_header=False)"], env)
        status_first_s = wall([py, "-m", "marketops", "status", "--json"], env)  # opens the warehouse
        status_s = min(wall([py, "-m", "marketops", "status", "--json"], env) for _ in range(3))
        import_s = min(wall([py, "-c", "import polars"], env) for _ in range(3))

    print(
        f"| command | seconds |\n|---|---:|\n| first one-file ingest (starts the background server) | {first_s:.2f} |"
    )
    print(f"| second one-file ingest ({files[1].rows:,} rows, reuses it) | {second_s:.2f} |")
    print(f"| bare python reading the same file with polars | {polars_read_s:.2f} |")
    print(f"| marketops status --json, first after the ingest (opens the warehouse) | {status_first_s:.2f} |")
    print(f"| marketops status --json, warehouse unchanged (best of 3) | {status_s:.2f} |")
    print(f"| python -c 'import polars' (best of 3) | {import_s:.2f} |")
    ingest_ratio = second_s / polars_read_s
    status_ratio = status_s / import_s
    verdict = "met" if ingest_ratio <= 15 else "NOT met"
    print(f"\ngoal: second ingest <= 15x the polars read: {verdict} ({ingest_ratio:.1f}x)")
    print(f"goal: status --json <= 3x import polars: {'met' if status_ratio <= 3 else 'NOT met'} ({status_ratio:.1f}x)")
    print(f"(the first status, which opens the warehouse: {status_first_s / import_s:.1f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
