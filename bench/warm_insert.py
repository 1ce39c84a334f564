"""Warm insert: the one adapter's ``insert_df`` beside the removed chDB adapter's ``Python()`` insert, same run.

Usage: python bench/warm_insert.py [--symbols 700] [--rounds 8]

Issue 11 replaced the hand-written chDB session adapter (``INSERT … SELECT FROM Python(frame)``: the
engine reads the Arrow arrays in place) with clickhouse-connect's chDB interface (``insert_arrow``:
an Arrow IPC file written to a temp file, then ``INSERT … FROM INFILE``). Both run here on the same
engine, the same table and the same 1M-row batch of ``bars_1m`` rows (a day of minutes per symbol, the
order-flow columns included), interleaved round by round with the table truncated before every insert,
so background merges and the machine's load fall on both alike. The adapter is measured twice: with
default settings (the transport alone: the IPC file costs ~10-30% more than ``Python()``'s in-place read)
and as ingest inserts bars (``keys_unique``: a judged batch has one row per minute, so the engine skips
folding the block on insert, which the removed adapter always paid). Wall time is printed with CPU time
(``process_time``: the engine's insert threads run in this process), minimum and median over the rounds;
the minimum is the figure least disturbed by other work on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import chdb
import numpy as np
import polars as pl

from core.settings import load_settings
from storage.warm import open_warehouse
from storage.warm.schema import migrate
from validation.contracts import BAR_TABLE_COLUMNS

START_MS = int(datetime(2024, 6, 1, tzinfo=UTC).timestamp() * 1000)


def batch(symbols: int) -> pl.DataFrame:
    """One ingest batch's bars: ``symbols`` × 1,440 minutes, deterministic."""
    rng = np.random.default_rng(11)
    minutes = 1440
    n = symbols * minutes
    close = 100 * np.exp(np.cumsum(rng.standard_normal(n) * 1e-3))
    volume = rng.random(n) * 10
    buy = volume * rng.random(n)
    return (
        pl.DataFrame(
            {
                "venue": "binance",
                "symbol": np.repeat([f"SYM{i:04d}USDT" for i in range(symbols)], minutes),
                "ts": np.tile(np.arange(minutes, dtype=np.int64) * 60_000, symbols) + START_MS,
                "open": close,
                "high": close * 1.001,
                "low": close * 0.999,
                "close": close,
                "volume": volume,
                "trades": rng.integers(1, 100, n).astype(np.uint32),
                "quote_volume": volume * close,
                "source_id": np.repeat(np.arange(symbols, dtype=np.uint64), minutes),
                "version": np.uint64(1),
                "buy_volume": buy,
                "sell_volume": volume - buy,
                "vwap": close,
                "price_side": "trade",
                "bar_source": "candles",
            }
        )
        .with_columns(pl.col("ts").cast(pl.Datetime("ms", "UTC")))
        .select(BAR_TABLE_COLUMNS)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=700, help="symbols × 1,440 minutes per batch (default 700)")
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds per way (default 8)")
    args = parser.parse_args()
    bars = batch(args.symbols)
    columns = ", ".join(bars.columns)
    print(f"batch: {bars.height:,} rows, {len(bars.columns)} columns, {bars.estimated_size() / 1e6:,.0f} MB")
    with tempfile.TemporaryDirectory(prefix="marketops-bench-") as tmp:
        settings = load_settings(home=Path(tmp))
        with open_warehouse(settings) as warehouse:
            migrate(warehouse)
            # a second handle on the same engine, as the removed adapter held one (chDB allows several per process)
            session = chdb.connect(str(settings.warehouse_dir.resolve()))
            table = f"{warehouse.database}.bars_1m"

            def removed_adapter(i: int) -> None:
                arrow_batch = bars.to_arrow(compat_level=pl.CompatLevel.newest())  # noqa: F841 (read by Python())
                session.query(
                    f"INSERT INTO {table} ({columns}) SETTINGS insert_deduplication_token = 'python{i}' "
                    f"SELECT {columns} FROM Python(arrow_batch)"
                )

            def adapter(i: int) -> None:
                warehouse.insert_df("bars_1m", bars, f"{i:032x}")

            def adapter_as_ingest(i: int) -> None:
                warehouse.insert_df("bars_1m", bars, f"{i:031x}f", keys_unique=True)

            ways: dict[str, Callable[[int], None]] = {
                "removed adapter: chDB Python() insert (before)": removed_adapter,
                "one adapter: insert_arrow, default settings (transport alone)": adapter,
                "one adapter: insert_arrow as ingest inserts bars, keys_unique (after)": adapter_as_ingest,
            }
            timings: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
            for i in range(args.rounds):
                for name, insert in ways.items():
                    warehouse.execute("TRUNCATE TABLE bars_1m")
                    wall, cpu = time.perf_counter(), time.process_time()
                    insert(i)
                    timings[name].append((time.perf_counter() - wall, time.process_time() - cpu))
                    stored = warehouse.query_scalar("SELECT count() FROM bars_1m")
                    assert stored == bars.height, (name, stored)
                print(f"round {i + 1}/{args.rounds} done", file=sys.stderr, flush=True)
            session.close()
    print("\n| way | wall min s | wall median s | CPU min s | CPU median s |")
    print("|---|---:|---:|---:|---:|")
    for name, xs in timings.items():
        walls, cpus = [x[0] for x in xs], [x[1] for x in xs]
        print(
            f"| {name} | {min(walls):.3f} | {statistics.median(walls):.3f} | "
            f"{min(cpus):.3f} | {statistics.median(cpus):.3f} |"
        )
    before, *others = (timings[name] for name in ways)
    print()
    for name, after in zip(list(ways)[1:], others, strict=True):
        print(
            f"{name.split(': ', 1)[1]} / before: wall min {min(x[0] for x in after) / min(x[0] for x in before):.2f}x"
            f" (median {statistics.median(x[0] for x in after) / statistics.median(x[0] for x in before):.2f}x),"
            f" CPU min {min(x[1] for x in after) / min(x[1] for x in before):.2f}x (goal: within 1.10x)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
