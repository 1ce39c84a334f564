"""Trades -> 1m bars throughput: trades/s end to end (read -> gate -> aggregate -> bars in the warm tier)
beside polars' raw read of the same files, with peak RSS, in one run.

Usage: python bench/trades.py [--trades 20000000] [--data DIR]

Generates deterministic Binance-layout spot trade files (headerless ``id,price,qty,quote_qty,time,
is_buyer_maker,is_best_match``; a random walk at ~230 trades/s): one of ``--trades`` trades and one a quarter
that size, once under bench/.data. Each measurement runs in its own child process so its peak RSS is its own:
  raw      polars ``read_csv`` of every file with the schema given (the baseline)
  e2e      the ingest path's trades branch: sniff, stream in blocks, gate, minute partials, ``trade_minutes``
           insert, re-derivation of the touched minutes into ``bars_1m`` (fresh embedded warehouse)
  e2e-1/4  the same on the quarter-size file: peak RSS must not grow with the file
Goal: e2e >= 0.3x the raw read rate, measured here; peak RSS flat as the input grows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np
import polars as pl

from bench.peak_rss import peak_rss_mib

COLUMNS = ["id", "price", "qty", "quote_qty", "time", "is_buyer_maker", "is_best_match"]
T0_MS = 1_717_200_000_000  # 2024-06-01 00:00 UTC


def generate(path: Path, trades: int, chunk: int = 2_000_000) -> Path:
    """A deterministic file of ``trades`` trades (cached: same size, same bytes), written chunk by chunk."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(14)
    tmp = path.with_suffix(".tmp")
    last_time, last_price = T0_MS, 60_000.0
    with open(tmp, "wb") as handle:
        for start in range(0, trades, chunk):
            n = min(chunk, trades - start)
            times = last_time + np.cumsum(rng.exponential(4.3, n).astype(np.int64))  # ~230 trades/s
            price = np.round(last_price + np.cumsum(rng.normal(0, 0.5, n)), 2)
            qty = np.round(rng.exponential(0.05, n) + 0.00001, 5)
            last_time, last_price = int(times[-1]), float(price[-1])
            pl.DataFrame(
                {
                    "id": np.arange(start, start + n, dtype=np.int64),
                    "price": price,
                    "qty": qty,
                    "quote_qty": np.round(price * qty, 8),
                    "time": times,
                    "is_buyer_maker": rng.random(n) < 0.5,
                    "is_best_match": np.ones(n, dtype=bool),
                }
            ).write_csv(handle, include_header=False)
    tmp.rename(path)
    return path


def _peak_mb() -> float:
    return peak_rss_mib()


def run_raw(paths: list[str]) -> dict[str, float]:
    schema = {"id": pl.Int64, "price": pl.Float64, "qty": pl.Float64, "quote_qty": pl.Float64, "time": pl.Int64,
              "is_buyer_maker": pl.Boolean, "is_best_match": pl.Boolean}  # fmt: skip
    start = time.perf_counter()
    rows = sum(pl.read_csv(p, has_header=False, new_columns=COLUMNS, schema_overrides=schema).height for p in paths)
    return {"rows": rows, "seconds": time.perf_counter() - start, "peak_mb": _peak_mb()}


def run_e2e(paths: list[str]) -> dict[str, float]:
    from datetime import UTC, datetime

    from core.parse import FileRef, ReadOptions
    from core.settings import load_settings
    from storage.warm import open_warehouse
    from storage.warm.schema import migrate
    from tasks.trades import load_trade_files, split_trade_files

    home = tempfile.mkdtemp(prefix="bench-trades-")
    os.environ["MARKETOPS_HOME"] = home
    settings = load_settings()
    with open_warehouse(settings) as warehouse:
        migrate(warehouse)
        start = time.perf_counter()
        refs = [FileRef(p, os.path.getsize(p), os.stat(p).st_mtime_ns) for p in paths]
        trades, _ = split_trade_files(refs, ReadOptions())
        manifest = load_trade_files(warehouse, trades, ReadOptions(), "bench", 0.05, 1, datetime.now(UTC), set())
        seconds = time.perf_counter() - start
        bars = warehouse.query_scalar("SELECT count() FROM bars_1m FINAL")
        counted = warehouse.query_scalar("SELECT sum(trades) FROM bars_1m FINAL")
    assert manifest["status"].to_list() == ["loaded"] * len(paths), manifest
    return {"rows": int(manifest["rows_loaded"].sum()), "seconds": seconds, "peak_mb": _peak_mb(), "bars": bars,
            "trades_in_bars": int(counted)}  # fmt: skip


def _child(kind: str, paths: list[Path]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trades", type=int, default=20_000_000)
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / ".data" / "trades")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *paths = args.child
        print(json.dumps(run_raw(paths) if kind == "raw" else run_e2e(paths)))
        return 0

    big = generate(args.data / f"BTCUSDT-trades-{args.trades}.csv", args.trades)
    small = generate(args.data / f"BTCUSDT-trades-{args.trades // 4}.csv", args.trades // 4)
    print(f"{args.trades:,} trades in one file of {big.stat().st_size / 1e6:,.0f} MB")
    raw = _child("raw", [big])
    e2e = _child("e2e", [big])
    quarter = _child("e2e", [small])
    print(
        "\n| stage | trades | seconds | trades/s | MB/s | peak RSS MB | vs raw |\n|---|---:|---:|---:|---:|---:|---:|"
    )
    for name, r, nbytes in [
        ("polars raw read (baseline)", raw, big.stat().st_size),
        ("end to end: read -> bars_1m", e2e, big.stat().st_size),
        ("end to end, a file 1/4 the size", quarter, small.stat().st_size),
    ]:
        rate = r["rows"] / r["seconds"]
        print(
            f"| {name} | {r['rows']:,} | {r['seconds']:.2f} | {rate:,.0f} | {nbytes / 1e6 / r['seconds']:,.1f} "
            f"| {r['peak_mb']:,.0f} | {rate / (raw['rows'] / raw['seconds']):.2f}x |"
        )
    ratio = (e2e["rows"] / e2e["seconds"]) / (raw["rows"] / raw["seconds"])
    print(f"\nbars written: {e2e['bars']:,} (trades counted in bars: {e2e['trades_in_bars']:,})")
    print(f"goal: end to end >= 0.3x raw read -> {ratio:.2f}x ({'met' if ratio >= 0.3 else 'NOT met'})")
    growth = e2e["peak_mb"] / quarter["peak_mb"]
    print(f"peak RSS with a 4x larger file: {growth:.2f}x ({'flat' if growth < 1.5 else 'GROWS'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
