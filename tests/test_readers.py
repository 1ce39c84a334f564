"""Readers against the shared real samples and hand-made variants of each format."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from core.errors import UnreadableFileError
from core.formats import SourceFile, read_source
from core.formats.naming import identify
from core.formats.registry import detect_format


def _read(path: Path, **kwargs: Any) -> tuple[str, pl.DataFrame]:
    return read_source(SourceFile(path.name, path.read_bytes()), **kwargs)


def test_binance_ms_day_with_real_outage_loads_every_row(real_data: Path) -> None:
    fmt, frame = _read(real_data / "binance-spot-btcusdt-1m-daily" / "BTCUSDT-1m-2019-06-07.csv")
    assert fmt == "binance"
    assert frame.height == 1379
    assert frame["ts"].min() == datetime(2019, 6, 7, tzinfo=UTC)
    assert frame["ts"].max() == datetime(2019, 6, 7, 23, 59, tzinfo=UTC)
    assert frame["raw"].null_count() == 1379  # every row parsed cleanly
    assert frame.row(0, named=True)["open"] == 7787.57
    assert frame.row(0, named=True)["trades"] == 347


def test_binance_microsecond_day_is_read_as_utc_minutes(real_data: Path) -> None:
    _, frame = _read(real_data / "binance-spot-btcusdt-1m-daily" / "BTCUSDT-1m-2025-06-15.csv")
    assert frame.height == 1440
    assert frame["ts"].min() == datetime(2025, 6, 15, tzinfo=UTC)
    steps = frame.select(pl.col("ts").diff().dt.total_minutes().drop_nulls().unique())
    assert steps.to_series().to_list() == [1]


def test_histdata_est_without_dst_becomes_utc(real_data: Path) -> None:
    fmt, frame = _read(real_data / "histdata-eurusd-m1" / "DAT_NT_EURUSD_M1_201502_week1.csv")
    assert fmt == "histdata"
    assert frame.height == 7192
    # 2015-02-01 17:00 EST (fixed UTC-5) is 22:00 UTC
    assert frame["ts"].min() == datetime(2015, 2, 1, 22, 0, tzinfo=UTC)
    assert frame["ts"].max() == datetime(2015, 2, 6, 21, 59, tzinfo=UTC)


def test_generic_csv_maps_columns_by_name_with_crlf_and_local_time(real_data: Path) -> None:
    path = real_data / "sp500-index-1m-intraday" / "SP500_NOV2019_IDay.csv"
    with pytest.raises(UnreadableFileError, match="ambiguous_date_order"):  # 11/5..11/8: no day above 12
        _read(path, timezone="America/New_York")
    fmt, frame = _read(path, timezone="America/New_York", date_order="mdy")
    assert fmt == "generic"
    assert frame.height == 1563
    first = frame.row(0, named=True)
    # header order is Date,Open,Close,High,Low: mapping must be by name, not position
    assert (first["open"], first["high"], first["low"], first["close"]) == (3080.8, 3081.47, 3080.3, 3080.49)
    assert first["ts"] == datetime(2019, 11, 5, 14, 30, tzinfo=UTC)  # 09:30 EST
    assert first["line"] == 2


def test_binance_with_header_and_zip_reads_the_same_rows() -> None:
    body = (
        b"1717200000000,1.0,2.0,0.5,1.5,10,1717200059999,15,3,5,7.5,0\n"
        b"1717200060000,1.5,2.5,1.0,2.0,11,1717200119999,22,4,5,10,0\n"
    )
    header = (
        b"open_time,open,high,low,close,volume,close_time,quote_volume,count,"
        b"taker_buy_volume,taker_buy_quote_volume,ignore\n"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ETHUSDT-1m-2024-06-01.csv", header + body)
    _, plain = read_source(SourceFile("ETHUSDT-1m-2024-06-01.csv", body))
    fmt, zipped = read_source(SourceFile("ETHUSDT-1m-2024-06-01.zip", buffer.getvalue()))
    assert fmt == "binance"
    assert plain.drop("line").equals(zipped.drop("line"))
    assert zipped["line"].to_list() == [2, 3]


def test_truncated_binance_row_is_kept_for_quarantine_and_the_rest_parses() -> None:
    body = b"1717200000000,1.0,2.0,0.5,1.5,10,1717200059999,15,3,5,7.5,0\n1717200060000,1.5,2"
    _, frame = read_source(SourceFile("X-1m-2024-06-01.csv", body))
    assert frame.height == 2
    assert frame["raw"].to_list() == [None, "1717200060000,1.5,2"]


def test_generic_explicit_mapping_wins_over_aliases() -> None:
    body = b"when;px_o;px_h;px_l;px_c;qty\n2024-01-02 10:00:00;1;2;0.5;1.5;3\n"
    _fmt, frame = read_source(
        SourceFile("ABC.csv", body),
        "generic",
        columns={"ts": "when", "open": "px_o", "high": "px_h", "low": "px_l", "close": "px_c", "volume": "qty"},
    )
    assert frame.row(0, named=True)["high"] == 2.0 and frame.row(0, named=True)["volume"] == 3.0


def test_generic_parquet_reads() -> None:
    buffer = io.BytesIO()
    pl.DataFrame(
        {
            "timestamp": [datetime(2024, 1, 2, 10, 0)],
            "open": [1.0],
            "high": [2.0],
            "low": [0.5],
            "close": [1.5],
            "volume": [3.0],
        }
    ).write_parquet(buffer)
    fmt, frame = read_source(SourceFile("ABC.parquet", buffer.getvalue()))
    assert fmt == "generic" and frame.height == 1
    assert frame["ts"][0] == datetime(2024, 1, 2, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty"),
        (b"hello,world\n1,2\n", "no reader accepts"),
        (b"1717200000000,1.0,2.0,0.5,1.5\n", "no reader accepts"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(content: bytes, fragment: str) -> None:
    with pytest.raises(UnreadableFileError, match=fragment):
        detect_format(SourceFile("BAD-1m-2024-01-01.csv", content))


def test_path_identity_from_names_and_hive_venue() -> None:
    assert identify("/x/venue=dukascopy/EURUSD-1m-2024-06-03.csv") == identify(
        "/y/venue=dukascopy/EURUSD-1m-2024-06-03.csv"
    )
    named = identify("/x/venue=dukascopy/EURUSD-1m-2024-06-03.csv")
    assert (named.venue, named.symbol, named.period) == ("dukascopy", "EURUSD", "2024-06")
    hist = identify("/d/DAT_ASCII_EURUSD_M1_201502.csv")
    assert (hist.venue, hist.symbol, hist.period) == ("histdata", "EURUSD", "2015-02")
    assert identify("/d/SP500_NOV2019_IDay.csv").symbol == "SP500"


def test_batch_parse_equals_file_by_file_parse_on_clean_and_dirty_files(real_data: Path, tmp_path: Path) -> None:
    from core.parse import FileRef, ReadOptions, parse_file, parse_files
    from core.samples import SampleSpec, generate

    files = [(p.name, p.read_bytes()) for p in sorted((real_data / "binance-spot-btcusdt-1m-daily").glob("*.csv"))]
    files += [(s.relative_path.split("/")[-1], s.data) for s in generate(SampleSpec(symbols=2, days=2, fx_share=0))]
    items = [
        (FileRef(f"/landing/{name}", len(data), 0), SourceFile(name, data), f"{i:064x}")
        for i, (name, data) in enumerate(files)
    ]
    for group in (items[:2], items):  # all clean (one combined read) and with planted anomalies (per-file fallback)
        one_by_one = [parse_file(*item, ReadOptions()) for item in group]
        batched = parse_files(group, ReadOptions())
        for a, b in zip(one_by_one, batched, strict=True):
            assert (a.format, a.venue, a.symbol, a.reason) == (b.format, b.venue, b.symbol, b.reason)
            assert (a.raw is None and b.raw is None) or (
                a.raw is not None and b.raw is not None and a.raw.equals(b.raw)
            )
