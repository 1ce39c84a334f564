"""Batch judgement: contract failures isolate their own file; the manifest tells every file's fate."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl

from core.formats.frame import RAW_SCHEMA
from core.parse import FileRef, ParsedFile
from validation.batch import BatchVerdict, judge_batch


def _parsed(path: str, raw: pl.DataFrame | None, reason: str | None = None, source_id: int = 1) -> ParsedFile:
    return ParsedFile(
        ref=FileRef(path, 10, 1),
        sha256="0" * 64,
        source_id=source_id,
        format="binance",
        venue="binance",
        symbol="BTCUSDT",
        raw=raw,
        reason=reason,
    )


def _raw(n: int, start_minute: int = 0) -> pl.DataFrame:
    rows = [
        {
            "line": i + 1,
            "ts": datetime(2024, 6, 3, 0, start_minute + i, tzinfo=UTC),
            "open": 10.0,
            "high": 11.0,
            "low": 9.0,
            "close": 10.5,
            "volume": 1.0,
            "trades": 2,
            "quote_volume": 5.0,
            "raw": None,
        }
        for i in range(n)
    ]
    return pl.DataFrame(rows, schema=RAW_SCHEMA)


def _judge(files: list[ParsedFile]) -> BatchVerdict:
    return judge_batch(files, version=5, run_id="r", threshold=0.05, now=datetime(2024, 6, 4, tzinfo=UTC))


def test_a_file_breaking_the_raw_contract_is_quarantined_alone() -> None:
    broken = _raw(3).with_columns(pl.lit(0, pl.UInt32).alias("line"))  # line numbers start at 1
    verdict = _judge([_parsed("/a.csv", _raw(5), source_id=1), _parsed("/b.csv", broken, source_id=2)])
    manifest = {r["path"]: r for r in verdict.manifest.iter_rows(named=True)}
    assert manifest["/a.csv"]["status"] == "loaded" and manifest["/a.csv"]["rows_loaded"] == 5
    assert manifest["/b.csv"]["status"] == "quarantined"
    assert "RawBars" in json.loads(manifest["/b.csv"]["reasons"])[0]["reason"]
    assert verdict.bars.height == 5


def test_unreadable_files_only_still_give_a_well_formed_verdict() -> None:
    verdict = _judge([_parsed("/x.csv", None, reason="no reader accepts this file")])
    assert verdict.bars.height == 0 and verdict.quarantine.height == 0
    row = verdict.manifest.row(0, named=True)
    assert row["status"] == "quarantined" and row["rows_read"] == 0


def test_bars_carry_identity_version_and_the_table_columns_only() -> None:
    verdict = _judge([_parsed("/a.csv", _raw(2))])
    bars = verdict.bars
    assert bars.columns == [
        "venue",
        "symbol",
        "ts",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "trades",
        "quote_volume",
        "source_id",
        "version",
    ]
    assert bars["version"].unique().to_list() == [5] and bars["symbol"].unique().to_list() == ["BTCUSDT"]
