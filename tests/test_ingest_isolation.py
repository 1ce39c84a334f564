"""Pure pieces of ingest robustness: landing entries, bounded reads, file precedence, plausibility,
per-file isolation inside a batch, option checks. No warehouse needed."""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from core.errors import ConfigError
from core.fingerprint import file_precedence
from core.formats.frame import RAW_SCHEMA
from core.parse import FileRef, ParsedFile, checked_options
from core.settings import load_settings
from core.versions import duplicate_contents, older_versions, touched_versions
from storage.landing import FileTooLargeError, NotARegularFileError, read_file, scan
from validation.batch import judge_batch
from validation.gate import GateResult, Plausibility, gate_check

NOW = datetime(2024, 6, 4, tzinfo=UTC)


def test_entries_that_are_not_regular_files_are_listed_as_skipped_with_reasons_and_never_opened(tmp_path: Path) -> None:
    (tmp_path / "good.csv").write_text("x")
    os.symlink("b.csv", tmp_path / "a.csv")
    os.symlink("a.csv", tmp_path / "b.csv")
    os.symlink("missing.csv", tmp_path / "dangling.csv")
    os.mkfifo(tmp_path / "fifo.csv")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock.csv"))
    os.symlink(tmp_path / "fifo.csv", tmp_path / "to-fifo.csv")
    os.symlink(tmp_path / "good.csv", tmp_path / "link-to-good.csv")
    try:
        listing, skipped = scan([tmp_path])
    finally:
        sock.close()
    assert listing["path"].to_list() == [str(tmp_path / "good.csv")]  # the link to it resolves to the same file
    reasons = {Path(p).name: r for p, r in skipped.iter_rows()}
    assert reasons["a.csv"] == reasons["b.csv"] == "symlink loop"
    assert reasons["dangling.csv"].startswith("dangling symlink")
    assert "FIFO" in reasons["fifo.csv"] and "socket" in reasons["sock.csv"]
    assert "FIFO (via a symlink)" in reasons["to-fifo.csv"]


def test_reading_refuses_a_fifo_without_blocking_and_bounds_the_size(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "late-fifo.csv")
    with pytest.raises(NotARegularFileError):
        read_file(str(tmp_path / "late-fifo.csv"))  # O_NONBLOCK: returns at once although no writer exists
    (tmp_path / "big.csv").write_bytes(b"x" * 1000)
    with pytest.raises(FileTooLargeError):
        read_file(str(tmp_path / "big.csv"), max_bytes=999)
    source, sha = read_file(str(tmp_path / "big.csv"), max_bytes=1000)
    assert len(source.data) == 1000 and len(sha) == 64


def test_file_precedence_is_a_pure_function_of_the_file_the_larger_wins() -> None:
    small, large = file_precedence("/l/a.csv", 10), file_precedence("/l/b.csv", 11)
    assert large > small and file_precedence("/l/a.csv", 10) == small
    assert file_precedence("/l/a.csv", 5_000_000_000) > file_precedence("/l/z.csv", 4_999_999_999)
    assert file_precedence("/l/a.csv", 10) != file_precedence("/l/b.csv", 10)  # equal sizes: the path decides


def test_copies_of_settled_bytes_and_within_a_batch_are_duplicates_naming_the_original() -> None:
    twins = pl.DataFrame({"path": ["/l/x.csv"], "sha256": ["aa"], "status": ["loaded"]})
    found = duplicate_contents([("/l/x.csv", "aa"), ("/l/y.csv", "aa"), ("/l/p.csv", "bb"), ("/l/q.csv", "bb")], twins)
    assert found == {
        "/l/y.csv": "duplicate file: the same bytes as /l/x.csv (loaded)",
        "/l/q.csv": "duplicate file: the same bytes as /l/p.csv (in this run)",
    }


def test_older_versions_of_a_path_are_superseded_and_a_touched_file_gets_its_new_mtime() -> None:
    settled = pl.DataFrame(
        {
            "path": ["/a", "/a", "/b"],
            "sha256": ["old", "new", "b1"],
            "status": ["partial", "loaded", "loaded"],
            "mtime_ns": [1, 2, 3],
        }
    )
    assert older_versions(settled, [("/a", "new")], ("loaded", "partial", "quarantined"))["sha256"].to_list() == ["old"]
    touched = touched_versions([(FileRef("/b", 1, 99), "b1"), (FileRef("/a", 1, 2), "new")], settled)
    assert touched.select("path", "mtime_ns").rows() == [("/b", 99)]


def _parsed(path: str, raw: pl.DataFrame | None, source_id: int, size: int = 100) -> ParsedFile:
    return ParsedFile(
        ref=FileRef(path, size, 1),
        sha256=str(source_id) * 64,
        source_id=source_id,
        format="generic",
        venue="binance",
        symbol="BTCUSDT",
        raw=raw,
    )


def _raw(rows: list[tuple[datetime | None, float, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "line": i + 1,
                "ts": ts,
                "open": o,
                "high": o + 1,
                "low": o - 0.5,
                "close": o,
                "volume": v,
                "trades": 1,
                "quote_volume": 1.0,
                "raw": None,
            }
            for i, (ts, o, v) in enumerate(rows)
        ],
        schema=RAW_SCHEMA,
    )


def _minute(m: int) -> datetime:
    return datetime(2024, 6, 3, 0, m, tzinfo=UTC)


def test_two_files_of_one_batch_sharing_minutes_both_load_and_conflicts_name_both_files() -> None:
    a = _raw([(_minute(m), 10.0, 1.0) for m in range(10)])
    b = _raw([(_minute(m), 10.0 if m != 7 else 12.0, 1.0) for m in range(5, 15)])
    verdict = judge_batch(
        [_parsed("/l/a.csv", a, 2**63 + 5, size=100), _parsed("/l/b.csv", b, 2**63 + 7, size=200)],
        version=1,
        run_id="r",
        threshold=0.05,
        now=NOW,
    )
    manifest = {r["path"]: r for r in verdict.manifest.iter_rows(named=True)}
    assert manifest["/l/a.csv"]["status"] == manifest["/l/b.csv"]["status"] == "loaded"
    assert manifest["/l/a.csv"]["rows_loaded"] == manifest["/l/b.csv"]["rows_loaded"] == 10  # what each delivered
    assert verdict.bars.height == 15  # each shared minute goes in once, from b (the larger file)
    shared = verdict.bars.filter(pl.col("ts") >= _minute(5), pl.col("ts") < _minute(10))
    assert shared["source_id"].unique().to_list() == [2**63 + 7]
    conflicts = verdict.anomalies.filter(pl.col("check") == "duplicate_across_files")
    assert conflicts.height == 1 and conflicts["ts"][0] == _minute(7)
    detail = conflicts["detail"][0]
    assert detail.index("/l/b.csv") < detail.index("/l/a.csv")  # b is the larger file: kept


def test_whatever_one_file_raises_while_judged_quarantines_that_file_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    import validation.batch as batch

    def exploding(frame: pl.DataFrame, plausibility: Plausibility | None = None) -> GateResult:
        if (frame["source_id"] == 2).any():
            raise OverflowError("date value out of range")
        return gate_check(frame, plausibility)

    monkeypatch.setattr(batch, "gate_check", exploding)
    verdict = judge_batch(
        [
            _parsed("/l/a.csv", _raw([(_minute(0), 10.0, 1.0)]), 1),
            _parsed("/l/b.csv", _raw([(_minute(1), 10.0, 1.0)]), 2),
        ],
        version=1,
        run_id="r",
        threshold=0.05,
        now=NOW,
    )
    manifest = {r["path"]: r for r in verdict.manifest.iter_rows(named=True)}
    assert manifest["/l/a.csv"]["status"] == "loaded"
    assert manifest["/l/b.csv"]["status"] == "quarantined"
    assert json.loads(manifest["/l/b.csv"]["reasons"]) == [{"reason": "OverflowError: date value out of range"}]


def test_plausibility_quarantines_impossible_times_and_magnitudes_with_per_venue_bounds() -> None:
    frame = _raw(
        [
            (_minute(0), 10.0, 1.0),
            (datetime(1850, 1, 1, tzinfo=UTC), 10.0, 1.0),
            (datetime(2500, 1, 1, tzinfo=UTC), 10.0, 1.0),
            (_minute(3), 1e308, 1.0),
            (_minute(4), 10.0, 1e300),
            (_minute(5), 5000.0, 1.0),
        ]
    ).with_columns(
        pl.lit("binance").alias("venue"), pl.lit("BTCUSDT").alias("symbol"), pl.lit(1, pl.UInt64).alias("source_id")
    )
    settings = load_settings(plausible_bounds={"binance": {"max_price": 1000}})
    result = gate_check(frame, Plausibility.from_settings(settings, NOW))
    checks = {r["line"]: r["checks"] for r in result.rejected.iter_rows(named=True)}
    assert checks == {
        2: ["ts_implausible"],
        3: ["ts_implausible"],
        4: ["price_implausible"],
        5: ["volume_implausible"],
        6: ["price_implausible"],  # 5000 is beyond this venue's configured bound
    }
    assert result.passed.height == 1
    other = gate_check(frame.with_columns(pl.lit("kraken").alias("venue")), Plausibility.from_settings(settings, NOW))
    assert 6 not in other.rejected["line"].to_list()  # the bound is per venue
    wide = frame.with_columns(pl.when(pl.col("line") == 1).then(0.05).otherwise(pl.col("low")).alias("low"))
    assert "range_implausible" in gate_check(wide, Plausibility.default(NOW)).rejected["checks"][0]


def test_unknown_plausibility_bounds_are_a_settings_error() -> None:
    with pytest.raises(ValueError, match="unknown"):
        load_settings(plausible_bounds={"*": {"max_prize": 1.0}})


@pytest.mark.parametrize(
    ("args", "allowed"),
    [
        (["--format", "excel"], "allowed: binance, histdata"),
        (["--timezone", "Mars/Base"], "IANA"),
        (["--venue", "Big Venue"], "lower-case"),
        (["--symbol", "BTC/USDT"], "letters, digits"),
        (["--date-order", "ddmm"], "allowed: dmy, mdy"),
    ],
)
def test_bad_ingest_options_exit_2_with_the_allowed_values_before_any_file_is_touched(
    args: list[str], allowed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from marketops.cli import app

    monkeypatch.setenv("MARKETOPS_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(app, ["ingest", str(tmp_path), *args])
    assert result.exit_code == 2, result.output
    assert allowed in result.output
    assert not (tmp_path / "home" / "warehouse").exists()  # nothing opened, nothing read


def test_checked_options_normalise_what_they_accept() -> None:
    options = checked_options("binance", "binance", "btcusdt", "America/New_York", "dmy")  # dmy: a readers order
    assert (options.symbol, options.timezone, options.date_order) == ("BTCUSDT", "America/New_York", "dmy")
    with pytest.raises(ConfigError):
        checked_options(None, None, None, "../../etc/passwd")
