"""Warmup throughput: keys/s and bytes/s end to end (warm read -> JSON -> write -> read-back -> cutover)
beside a raw chunked put_all of the same payloads into the same hot store, in the same run; then the
incremental update after an ingest: a new minute for ``--touched`` symbols lands in warm, and the hot
tier's lag (seconds from the warm insert until the hot keys serve it) and the update's keys/s.

Usage: python bench/warmup.py [--symbols 2000] [--recent 50] [--rounds 3] [--touched N]

The warmup's own steps (warm open, warm read, values, put, read-back, cutover, catch-up) follow, each beside the
raw put_all of the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np
import polars as pl

from core.hot_layout import LATEST_MAP, epoch_map
from core.settings import Settings, load_settings
from storage.hot import open_hot_store
from storage.hot.epochs import live_values, write_epoch
from storage.warm import open_warehouse
from storage.warm.schema import migrate
from tasks.warmup import _build_maps, rebuild_hot, update_hot
from validation.contracts import BARS_COLUMNS


def load_warm(settings: Settings, symbols: int, minutes: int = 1440, first_minute: int = 0, version: int = 1) -> int:
    n = symbols * minutes
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.standard_normal(n) * 1e-3))
    frame = (
        pl.DataFrame(
            {
                "venue": "binance",
                "symbol": np.repeat([f"S{i:05d}USDT" for i in range(symbols)], minutes),
                "ts": np.tile(np.arange(first_minute, first_minute + minutes, dtype=np.int64) * 60_000, symbols)
                + int(datetime(2024, 6, 3, tzinfo=UTC).timestamp() * 1000),
                "open": close,
                "high": close * 1.001,
                "low": close * 0.999,
                "close": close,
                "volume": rng.random(n),
                "trades": rng.integers(1, 100, n).astype(np.uint32),
                "quote_volume": close,
                "source_id": np.uint64(1),
                "version": np.uint64(version),
            }
        )
        .with_columns(pl.col("ts").cast(pl.Datetime("ms", "UTC")))
        .select(BARS_COLUMNS)
    )
    with open_warehouse(settings) as wh:
        migrate(wh)
        wh.insert_df("bars_1m", frame)
    return n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=2000)
    parser.add_argument("--recent", type=int, default=50, help="bars per symbol and timeframe")
    parser.add_argument("--rounds", type=int, default=3, help="alternated raw-put / warmup rounds")
    parser.add_argument("--touched", type=int, default=0, help="symbols an ingest touches (default: all)")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    touched = args.touched or args.symbols
    with tempfile.TemporaryDirectory(prefix="marketops-bench-warmup-") as tmp:
        settings = load_settings(home=Path(tmp) / "home", hot_recent_bars=args.recent)
        rows = load_warm(settings, args.symbols)
        print(f"warm tier: {rows:,} bars of {args.symbols:,} symbols", flush=True)

        maps, _ = _build_maps(settings)  # the same payloads, prepared outside the timing

        def raw_put(round_no: int) -> tuple[float, int, int]:
            """The same payloads through the warmup's own writer into a fresh epoch of the same store (dropped
            after), timed: nothing of the warmup but the put."""
            epoch = f"19700101T0000000000{round_no:02d}Z"
            with open_hot_store(settings) as hot:
                start = time.perf_counter()
                written = write_epoch(hot, epoch, maps, settings.hot_put_chunk)
                seconds = time.perf_counter() - start
                for logical in maps:
                    hot.destroy(epoch_map(logical, epoch))
            return seconds, written.keys, written.bytes

        # Rounds alternate the raw put and the warmup (which writes a new epoch and drops the old one each
        # time), so both meet the store, the disk and the machine in the same states; medians are compared.
        raws: list[float] = []
        warmups: list[tuple[float, dict[str, Any]]] = []
        for round_no in range(args.rounds):
            raw_s, raw_keys, raw_bytes = raw_put(round_no)
            raws.append(raw_s)
            start = time.perf_counter()
            run = rebuild_hot.fn(settings, True)
            warmups.append((time.perf_counter() - start, run))
        raw_s = statistics.median(raws)
        e2e_s, result = sorted(warmups, key=lambda pair: pair[0])[len(warmups) // 2]  # the median round
        print(
            f"{args.rounds} alternated rounds: raw put_all {min(raws):.2f}-{max(raws):.2f} s, "
            f"warmup {min(w for w, _ in warmups):.2f}-{max(w for w, _ in warmups):.2f} s; medians compared below",
            flush=True,
        )

        # An ingest lands one new minute for `touched` symbols; the flow then updates those symbols' keys.
        load_warm(settings, touched, minutes=1, first_minute=1440, version=2)
        landed = time.perf_counter()
        keys = [f"binance:S{i:05d}USDT" for i in range(touched)]
        update = update_hot.fn(settings, keys, "bench")
        lag_s = time.perf_counter() - landed
        with open_hot_store(settings) as hot:
            served = live_values(hot, LATEST_MAP, keys[:1])
        assert '"ts":"2024-06-04T00:00:00Z"' in served[keys[0]], served
    e2e_rate, raw_rate = result["keys"] / e2e_s, raw_keys / raw_s
    print("\n| path | keys | MB | seconds | keys/s | MB/s |\n|---|---:|---:|---:|---:|---:|")
    print(
        f"| raw put_all of the same payloads ({settings.hot_backend}) | {raw_keys:,} | {raw_bytes / 1e6:,.1f} | "
        f"{raw_s:.2f} | {raw_rate:,.0f} | {raw_bytes / 1e6 / raw_s:,.1f} |"
    )
    print(
        f"| warmup end to end | {result['keys']:,} | {result['bytes'] / 1e6:,.1f} | {e2e_s:.2f} | {e2e_rate:,.0f} | "
        f"{result['bytes'] / 1e6 / e2e_s:,.1f} |"
    )
    mb, secs = update["bytes"] / 1e6, update["seconds"]
    print(
        f"| incremental update after an ingest ({touched:,} symbols) | {update['keys']:,} | {mb:,.1f} "
        f"| {secs:.2f} | {update['keys'] / secs:,.0f} | {mb / secs:,.1f} |"
    )
    print(f"\nhot-tier lag after the ingest: {lag_s:.2f} s (warm insert -> hot keys serve the new bar)")
    steps = result.get("steps", {})
    if steps:  # where the end-to-end time went (rebuild_hot's own step timings)
        print("\n| warmup step | seconds | share | vs raw put_all |\n|---|---:|---:|---:|")
        for name, secs in steps.items():
            print(f"| {name} | {secs:.3f} | {secs / e2e_s:.0%} | {secs / raw_s:.2f}x |")
        print(f"| (other: task overhead, features, bookkeeping) | {e2e_s - sum(steps.values()):.3f} | | |")
    ratio = e2e_rate / raw_rate
    print(
        f"\ngoal: warmup end to end >= 50% of the raw put_all rate: "
        f"{'met' if ratio >= 0.5 else 'NOT met'} ({ratio:.0%})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
