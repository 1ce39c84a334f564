"""A landing folder that mixes every failure class a real landing zone sees with good files.

Deterministic: the same call writes the same bytes. ``GOOD_ROWS`` is what must load, exactly.
"""

from __future__ import annotations

import gzip
import io
import os
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

DAY = datetime(2024, 1, 2, tzinfo=UTC)
DAY_MS = int(DAY.timestamp() * 1000)


def klines(start_ms: int, n: int, price: float = 100.0, step_ms: int = 60_000) -> list[str]:
    """Binance klines lines: open time in ms, OHLCV, close time, quote volume, trades, taker buys, ignore."""
    lines = []
    for i in range(n):
        t = start_ms + i * step_ms
        p = price + ((t // 60_000) % 7) * 0.5  # a function of the minute: overlapping files agree
        lines.append(f"{t},{p:.2f},{p + 1:.2f},{p - 1:.2f},{p + 0.25:.2f},1.5,{t + 59_999},150.0,3,0.7,70.0,0")
    return lines


Row = tuple[str, float, float, float, float, float]


def generic(rows: Sequence[Row]) -> str:
    return "time,open,high,low,close,volume\n" + "".join(f"{t},{o},{h},{lo},{c},{v}\n" for t, o, h, lo, c, v in rows)


def _zip(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buf.getvalue()


def _corrupt_deflate(name: str, data: bytes) -> bytes:
    """A zip whose central directory is intact but whose deflate stream is garbage (zlib.error on read)."""
    good = bytearray(_zip(name, data))
    header = 30 + len(name)  # local file header + name, no extra field
    for i in range(header + 5, header + 60):
        good[i] ^= 0x5A
    return bytes(good)


# rows that must load: good Binance day (1440) + good generic (3) + the good rows of partly bad files
GOOD_BINANCE = 1440
GOOD_GENERIC = 3
NS_FILE_ROWS = 100  # one of them has an ns-epoch time: 99 load, 1 quarantined
ABSURD_GOOD = 60  # the absurd-values file: 60 good rows + 4 absurd ones (quarantined, under the 5% threshold? no:
# 4 of 64 = 6.25% > 5% -> whole file quarantined); see EXPECTED below
GOOD_ROWS = GOOD_BINANCE + GOOD_GENERIC + (NS_FILE_ROWS - 1)


def write_hostile_landing(root: Path) -> dict[str, str]:
    """Write the folder; returns file name -> the word its outcome reason must contain ("" = loads)."""
    root.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}

    def put(name: str, data: bytes | str, reason: str) -> None:
        (root / name).write_bytes(data.encode() if isinstance(data, str) else data)
        expected[name] = reason

    # good files
    put("BTCUSDT-1m-2024-01-02.csv", "\n".join(klines(DAY_MS, GOOD_BINANCE)) + "\n", "")
    t0 = "2024-01-02 00:00:00"
    put(
        "ETHUSD.csv",
        generic(
            [
                (t0, 10, 11, 9, 10.5, 1),
                ("2024-01-02 00:01:00", 10.5, 11, 10, 10.8, 2),
                ("2024-01-02 00:02:00", 10.8, 11.2, 10.1, 11, 3),
            ]
        ),
        "",
    )
    # one bar a month for 13 years: one insert touching 156 monthly partitions (ClickHouse's default limit is 100)
    # two consecutive minutes a month for 13 years (1m bars, sparse): one insert touching 156 monthly
    # partitions (ClickHouse's default limit is 100)
    long_rows: list[Row] = [
        (f"{2010 + m // 12}-{m % 12 + 1:02d}-01 00:0{k}:00", 10, 11, 9, 10.5, 1) for m in range(156) for k in (0, 1)
    ]
    put("LONGHIST.csv", generic(long_rows), "")
    # one row's time in epoch nanoseconds inside a millisecond file: that row is quarantined, the rest loads
    ns_lines = klines(DAY_MS + 3 * 86_400_000, NS_FILE_ROWS)
    fields = ns_lines[50].split(",")
    fields[0] = str(int(fields[0]) * 1_000_000)
    ns_lines[50] = ",".join(fields)
    put("SOLUSDT-1m-2024-01-05.csv", "\n".join(ns_lines) + "\n", "")  # a file mixing epoch units: refused whole
    expected["SOLUSDT-1m-2024-01-05.csv"] = "?"
    # absurd values: 1850, 2500, a 1e308 price, a 1e300 volume among 60 good rows -> quarantined whole (ratio)
    absurd: list[Row] = [(f"2024-01-03 00:{i:02d}:00", 10, 11, 9, 10.5, 1) for i in range(ABSURD_GOOD)]
    absurd += [
        ("1850-01-01 00:00:00", 10, 11, 9, 10.5, 1),
        ("2500-01-01 00:00:00", 10, 11, 9, 10.5, 1),
        ("2024-01-03 01:00:00", 1e308, 1e308, 1e308, 1e308, 1),
        ("2024-01-03 01:01:00", 10, 11, 9, 10.5, 1e300),
    ]
    put("XRPUSD.csv", generic(absurd), "file_error_ratio")
    # truncated files
    lines = klines(DAY_MS, 100)
    full = "\n".join(lines)
    # cut mid-line (before the close): the torn last line is quarantined, the 80 before it load
    put("ADAUSDT-1m-2024-01-02.csv", "\n".join(lines[:80]) + "\n" + lines[80][:35], "")
    expected["ADAUSDT-1m-2024-01-02.csv"] = "partial"
    put("DOTUSDT-1m-2024-01-02.zip", _zip("DOTUSDT-1m-2024-01-02.csv", full.encode())[:200], "zip")
    put("LTCUSDT-1m-2024-01-02.zip", _corrupt_deflate("LTCUSDT-1m-2024-01-02.csv", full.encode() * 20), "rror")
    # wrong encodings and garbage
    put("UTF16.csv", generic([(t0, 10, 11, 9, 10.5, 1)]).encode("utf-16"), "")
    expected["UTF16.csv"] = "?"
    put("GARBAGE.csv", bytes(range(256)) * 8, "")
    expected["GARBAGE.csv"] = "?"
    put("EMPTY.csv", b"", "empty")
    put("GZIPPED.csv", gzip.compress(b"not,a,csv\n", mtime=0), "")
    expected["GZIPPED.csv"] = "?"
    # odd names
    put("---.csv", generic([(t0, 10, 11, 9, 10.5, 1)]), "")
    expected["---.csv"] = "?"
    # an epoch-ns Parquet file (a generic reader reading its times as ms overflows)
    pl.DataFrame(
        {
            "time": [DAY_MS * 1_000_000 + i * 60_000_000_000 for i in range(5)],
            "open": [1.0] * 5,
            "high": [1.0] * 5,
            "low": [1.0] * 5,
            "close": [1.0] * 5,
            "volume": [1.0] * 5,
        }
    ).write_parquet(root / "NSPARQ.parquet")
    expected["NSPARQ.parquet"] = "?"
    # entries that are not regular files: never opened
    os.symlink("loop-b.csv", root / "loop-a.csv")
    os.symlink("loop-a.csv", root / "loop-b.csv")
    expected["loop-a.csv"] = expected["loop-b.csv"] = "symlink loop"
    os.symlink("nowhere/at-all.csv", root / "dangling.csv")
    expected["dangling.csv"] = "dangling symlink"
    os.mkfifo(root / "fifo.csv")
    expected["fifo.csv"] = "FIFO"
    return expected
