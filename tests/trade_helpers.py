"""Helpers shared by the trade tests: write trade files, judge them, aggregate independently."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import polars as pl

from core.parse import FileRef, ReadOptions
from tasks.trades import judge_trade_file, trade_format_of
from validation.trade_batch import TradeFileVerdict

TARDIS_HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
T0_US = 1_717_200_000_000_000  # 2024-06-01 00:00:00 UTC in µs


def tardis_lines(trades: list[tuple[int, int, str, float, float]]) -> str:
    """(µs offset from T0, id, side, price, amount) -> Tardis CSV body lines."""
    return "".join(
        f"binance-futures,BTCUSDT,{T0_US + t},{T0_US + t + 5},{i},{s},{p!r},{a!r}\n" for t, i, s, p, a in trades
    )


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        path.write_text(text)
    else:
        path.write_bytes(text)
    return path


def judge(path: Path, options: ReadOptions | None = None, threshold: float = 1.0) -> TradeFileVerdict:
    options = options or ReadOptions()
    fmt, head, reason = trade_format_of(str(path), options)
    assert fmt is not None and head is not None, reason
    _, verdict = judge_trade_file(FileRef(str(path), os.path.getsize(path), 0), fmt, head, options, "0" * 64, threshold)
    return verdict


def reference_bars(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """An independent aggregation in plain Python: minute -> OHLC, volume, count, buy/sell (None if any side unknown).

    ``rows``: dicts with ts_us, id, price, size, side (+1/-1/None), in any order; order = (ts, id).
    """
    by_minute: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_minute[r["ts_us"] // 60_000_000].append(r)
    out = {}
    for minute, group in by_minute.items():
        group = sorted(group, key=lambda r: (r["ts_us"], r["id"]))
        unknown = any(r["side"] is None for r in group)
        out[minute] = {
            "open": group[0]["price"],
            "high": max(r["price"] for r in group),
            "low": min(r["price"] for r in group),
            "close": group[-1]["price"],
            "volume": sum(r["size"] for r in group),
            "trades": len(group),
            "buy_volume": None if unknown else sum(r["size"] for r in group if r["side"] == 1),
            "sell_volume": None if unknown else sum(r["size"] for r in group if r["side"] == -1),
            "vwap": sum(r["price"] * r["size"] for r in group) / sum(r["size"] for r in group),
        }
    return out


def assert_bars_match(bars: pl.DataFrame, expected: dict[int, dict[str, Any]], rel: float = 1e-9) -> None:
    found = {int(r["ts"].timestamp()) // 60: r for r in bars.iter_rows(named=True)}
    assert set(found) == set(expected), (sorted(found), sorted(expected))
    for minute, want in expected.items():
        got = found[minute]
        for key, value in want.items():
            if value is None or got[key] is None:
                assert value is None and got[key] is None, (minute, key, got[key], value)
            elif key in ("open", "high", "low", "close", "trades"):
                assert got[key] == value, (minute, key, got[key], value)
            else:
                assert abs(got[key] - value) <= rel * max(abs(value), 1e-12), (minute, key, got[key], value)
