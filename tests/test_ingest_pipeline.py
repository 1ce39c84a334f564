"""Ingest as a pipeline: the batch is normalised and judged in one pass, the contract proves only what the gate
does not, and a batch's writes may trail the next batch's judgement without changing any file's outcome."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.batching import plan_batches
from core.errors import ContractViolation, UnreadableFileError
from core.formats.frame import RAW_SCHEMA
from core.formats.registry import check_one_minute, one_minute_reasons
from core.normalize import Identity, batch_candidates, to_candidates
from core.parse import FileRef, ParsedFile, ReadOptions
from core.samples import SampleSpec, generate
from core.settings import Settings
from storage.landing import list_files, write_file
from storage.warm import open_warehouse
from validation.batch import judge_batch
from validation.contracts import BAR_TABLE_COLUMNS, Bars, enforce, enforce_boundary
from validation.gate import gate_check

T0 = datetime(2024, 6, 3, tzinfo=UTC)


def _raw(n: int, **override: object) -> pl.DataFrame:
    rows = [
        {
            "line": i + 1,
            "ts": T0 + timedelta(minutes=i),
            "open": 10.0,
            "high": 11.0,
            "low": 9.0,
            "close": 10.5,
            "volume": 2.0,
            "trades": 3,
            "quote_volume": 21.0,
            "buy_volume": 1.0,
            "raw": None,
            "side": None,
        }
        | override
        for i in range(n)
    ]
    return pl.DataFrame(rows, schema=RAW_SCHEMA)


def _bars(**override: object) -> pl.DataFrame:
    return to_candidates(_raw(3, **override), Identity("binance", "BTCUSDT", 1, 1)).select(BAR_TABLE_COLUMNS)


def test_a_batch_normalised_at_once_equals_its_files_normalised_one_by_one() -> None:
    raws = [_raw(3), _raw(2, side="bid"), _raw(0), _raw(4, trades=None, quote_volume=None, buy_volume=None)]
    identities = [
        Identity("binance", "BTCUSDT", 11, 5),
        Identity("dukascopy", "EURUSD", 12, 5),
        Identity("generic", "EMPTY", 13, 5),
        Identity("histdata", "USDJPY", 14, 5),
    ]
    one_by_one = pl.concat([to_candidates(r, i) for r, i in zip(raws, identities, strict=True)], how="vertical")
    together = batch_candidates(raws, identities)
    assert_frame_equal(together, one_by_one)
    assert together.filter(pl.col("source_id") == 12)["symbol"].unique().to_list() == ["EURUSD.BID"]


def test_the_boundary_contract_still_rejects_what_no_gate_check_covers() -> None:
    assert enforce_boundary("Bars", _bars()).height == 3
    for broken, rule in [
        (_bars().with_columns(pl.lit(-1.0).alias("buy_volume")), "buy_volume"),  # order flow: no gate check
        (_bars().with_columns(pl.lit("last").alias("price_side")), "price_side"),  # vocabulary: no gate check
        (_bars().with_columns(pl.lit("btc usdt").alias("symbol")), "symbol"),  # identity pattern
        (_bars().with_columns(pl.col("open").cast(pl.Float32)), "open"),  # the schema itself: a wrong type
        (_bars().drop("trades"), "column_in_dataframe"),  # the schema itself: a missing column
    ]:
        with pytest.raises(ContractViolation, match=rule):
            enforce_boundary("Bars", broken)
    with pytest.raises(ContractViolation, match="line"):
        enforce_boundary("RawBars", _raw(2).with_columns(pl.lit(0, pl.UInt32).alias("line")))


def test_the_boundary_leaves_to_the_gate_what_the_gate_proves() -> None:
    """A negative price passes the cheap boundary (the gate quarantines it first) but not the full contract."""
    negative = _bars(open=-1.0)
    assert enforce_boundary("Bars", negative).height == 3
    with pytest.raises(ContractViolation):
        enforce(Bars, negative)
    gated = gate_check(to_candidates(_raw(3, open=-1.0), Identity("binance", "BTCUSDT", 1, 1)))
    assert gated.passed.height == 0
    assert all("price_not_finite_positive" in checks for checks in gated.rejected["checks"].to_list())


def test_a_file_breaking_an_uncovered_rule_is_quarantined_alone_with_the_contract_reason() -> None:
    def parsed(path: str, source: int, raw: pl.DataFrame) -> ParsedFile:
        ref = FileRef(path, 10, 1)
        return ParsedFile(ref, "0" * 64, source, "binance", "binance", "BTCUSDT", raw)

    files = [parsed("/ok.csv", 1, _raw(4)), parsed("/bad.csv", 2, _raw(4, buy_volume=-3.0))]
    verdict = judge_batch(files, version=1, run_id="r", threshold=0.05, now=T0 + timedelta(days=1))
    manifest = {r["path"]: r for r in verdict.manifest.iter_rows(named=True)}
    assert manifest["/ok.csv"]["status"] == "loaded" and manifest["/ok.csv"]["rows_loaded"] == 4
    assert manifest["/bad.csv"]["status"] == "quarantined"
    assert "Bars" in json.loads(manifest["/bad.csv"]["reasons"])[0]["reason"]
    assert verdict.bars["source_id"].unique().to_list() == [1]


def test_the_one_pass_interval_check_agrees_with_the_per_file_check() -> None:
    def frame(minutes: list[float | None]) -> pl.DataFrame:
        ts = [None if m is None else T0 + timedelta(minutes=m) for m in minutes]
        return pl.DataFrame({"ts": ts}, schema={"ts": RAW_SCHEMA["ts"]})

    frames = [
        frame([0, 1, 2, 3]),  # clean
        frame([0, 5, 10, 15]),  # 5-minute bars
        frame([3, 1, 2, 0]),  # 1m, out of order
        frame([0, 2, 3, None]),  # a gap and a null
        frame([]),  # empty
        frame([0, 0.5, 1, 1.5, 2]),  # 30-second bars
        frame([0, 60, 120]),  # hourly
    ]

    def exact(f: pl.DataFrame) -> str | None:
        try:
            check_one_minute(f)
        except UnreadableFileError as exc:
            return exc.reason
        return None

    reasons = one_minute_reasons(frames)
    assert reasons == [exact(f) for f in frames]
    assert reasons[0] is None and reasons[1] is not None and reasons[6] is not None


def test_a_copy_settled_by_a_batch_written_after_this_one_was_judged_is_a_duplicate(
    settings: Settings, tmp_path: Path
) -> None:
    """Pipelined batches: batch B is judged before batch A writes. A holds the same bytes under another path,
    so B must not load them again: its write sees the new twin and judges again (outcome as if in order)."""
    from tasks import ingest_lanes
    from tasks.ingest import judge_parsed, parse_batch_files, write_judged
    from tasks.setup import ensure_schema

    (sample,) = list(generate(SampleSpec(symbols=1, days=1, inject=False, fx_share=0)))
    first, second = tmp_path / "a", tmp_path / "b"
    write_file(first, sample.relative_path, sample.data)
    write_file(second, sample.relative_path, sample.data)
    ensure_schema.fn(settings)
    options = ReadOptions()
    (batch_a,), (batch_b,) = plan_batches(list_files([first]), 10), plan_batches(list_files([second]), 10)
    with open_warehouse(settings) as warehouse:
        empty = pl.DataFrame(schema={"path": pl.String, "sha256": pl.String, "source_id": pl.UInt64})
        judged = [
            judge_parsed(
                warehouse, settings, parse_batch_files(settings, b, options, frozenset()), empty, options, "r", False
            )
            for b in (batch_a, batch_b)
        ]
        assert all(j.twins == {} for j in judged)  # neither saw the other: both were judged before any write
        with ingest_lanes.STORE:
            out_a = write_judged(warehouse, settings, judged[0], empty, options, "r", False)
            out_b = write_judged(warehouse, settings, judged[1], empty, options, "r", False)
        stored = warehouse.query_scalar("SELECT count() FROM bars_1m FINAL")
        versions = warehouse.query_df("SELECT DISTINCT version FROM bars_1m")
    assert [r["status"] for r in out_a] == ["loaded"] and [r["status"] for r in out_b] == ["duplicate"]
    assert stored == out_a[0]["rows_loaded"] and out_b[0]["rows_loaded"] == 0
    assert versions.height == 1 and versions.item() > 0  # stamped at write time, not the judge's placeholder


def test_pipelined_batches_load_what_one_batch_at_a_time_loads(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefect_api: None
) -> None:
    """Two batch tasks in flight (one writing while the next parses and judges) give the same bars and the same
    per-file outcomes as one at a time, on planted anomalies (quarantined rows and a quarantined file)."""
    from flows.ingest import ingest

    landing = tmp_path / "landing"
    for sample in generate(SampleSpec(symbols=3, days=2)):
        write_file(landing, sample.relative_path, sample.data)
    monkeypatch.setenv("MARKETOPS_INGEST_BATCH_MAX_FILES", "2")  # several batches, so they overlap
    results = {}
    for workers in (1, 2):
        database = f"{settings.clickhouse_database}_w{workers}"  # one engine path per process: same home
        monkeypatch.setenv("MARKETOPS_CLICKHOUSE_DATABASE", database)
        monkeypatch.setenv("MARKETOPS_INGEST_WORKERS", str(workers))
        ingest(paths=[str(landing)])
        with open_warehouse(settings.model_copy(update={"clickhouse_database": database})) as warehouse:
            bars = warehouse.query_df(
                "SELECT toString(venue) AS venue, symbol, ts, open, high, low, close, volume, source_id "
                "FROM bars_1m FINAL ORDER BY venue, symbol, ts"
            )
            files = warehouse.query_df(
                "SELECT path, status, rows_read, rows_loaded, rows_quarantined, rows_duplicate, reasons "
                "FROM ingest_files FINAL ORDER BY path"
            )
        results[workers] = (bars, files)
    assert results[1][0].height > 0
    assert_frame_equal(results[1][0], results[2][0])
    assert_frame_equal(results[1][1], results[2][1])
    assert set(results[2][1]["status"]) >= {"loaded", "partial"}
