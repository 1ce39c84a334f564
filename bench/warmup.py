"""Warmup throughput: keys/s and bytes/s end to end (warm read -> JSON -> write -> read-back -> cutover)
beside a raw chunked put_all of the same payloads into the same hot store, in the same run.

Usage: python bench/warmup.py [--symbols 2000] [--recent 50]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np
import polars as pl

from core.hot_layout import epoch_map
from core.settings import Settings, load_settings
from storage.hot import open_hot_store
from storage.warm import open_warehouse
from storage.warm.schema import migrate
from tasks.warmup import _build_maps, rebuild_hot
from validation.contracts import BARS_COLUMNS


def load_warm(settings: Settings, symbols: int) -> int:
    minutes = 1440
    n = symbols * minutes
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.standard_normal(n) * 1e-3))
    frame = (
        pl.DataFrame(
            {
                "venue": "binance",
                "symbol": np.repeat([f"S{i:05d}USDT" for i in range(symbols)], minutes),
                "ts": np.tile(np.arange(minutes, dtype=np.int64) * 60_000, symbols)
                + int(datetime(2024, 6, 3, tzinfo=UTC).timestamp() * 1000),
                "open": close,
                "high": close * 1.001,
                "low": close * 0.999,
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
    with open_warehouse(settings) as wh:
        migrate(wh)
        wh.insert_df("bars_1m", frame)
    return n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=2000)
    parser.add_argument("--recent", type=int, default=50, help="bars per symbol and timeframe")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="marketops-bench-warmup-") as tmp:
        settings = load_settings(home=Path(tmp) / "home", hot_recent_bars=args.recent)
        rows = load_warm(settings, args.symbols)
        print(f"warm tier: {rows:,} bars of {args.symbols:,} symbols", flush=True)

        start = time.perf_counter()
        result = rebuild_hot.fn(settings, True)
        e2e_s = time.perf_counter() - start

        maps, _ = _build_maps(settings)  # the same payloads, prepared outside the timing
        with open_hot_store(settings) as hot:
            start = time.perf_counter()
            raw_bytes = raw_keys = 0
            for logical, frame in maps.items():
                entries = dict(zip(frame["key"].to_list(), frame["value"].to_list(), strict=True))
                raw_bytes += hot.put_all_chunked(
                    epoch_map(logical, "19700101T000000000000Z"), entries, settings.hot_put_chunk
                )
                raw_keys += len(entries)
            raw_s = time.perf_counter() - start
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
    ratio = e2e_rate / raw_rate
    print(
        f"\ngoal: warmup end to end >= 50% of the raw put_all rate: "
        f"{'met' if ratio >= 0.5 else 'NOT met'} ({ratio:.0%})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
