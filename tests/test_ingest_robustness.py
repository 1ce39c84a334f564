"""Ingest robustness on the real engines: nothing one landing entry is or contains stops a run or another file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from core.settings import Settings
from deployments.background_server import stop_server
from storage.warm import open_warehouse
from tests.hostile import GOOD_BINANCE, GOOD_GENERIC, klines, write_hostile_landing

pytestmark = pytest.mark.usefixtures("prefect_api")


def _query(settings: Settings, sql: str) -> pl.DataFrame:
    with open_warehouse(settings) as warehouse:
        return warehouse.query_df(sql)


def _manifest(settings: Settings) -> dict[str, dict[str, Any]]:
    rows = _query(
        settings,
        "SELECT path, toString(status) AS status, rows_loaded, rows_quarantined, reasons FROM ingest_files FINAL",
    )
    return {Path(r["path"]).name: r for r in rows.iter_rows(named=True)}


def test_a_hostile_landing_loads_the_good_rows_exactly_and_refuses_each_bad_entry_with_its_reason(
    settings: Settings, tmp_path: Path
) -> None:
    from flows.ingest import ingest

    landing = tmp_path / "landing"
    expected = write_hostile_landing(landing)
    started = time.monotonic()
    summary = ingest(paths=[str(landing)])
    assert time.monotonic() - started < 120  # no hang (the FIFO is never opened)
    assert summary["ok"] is True and summary["files_failed"] == 0
    files = _manifest(settings)
    assert set(files) == set(expected)  # every entry has a recorded outcome, loops and FIFOs included
    for name, word in expected.items():
        row = files[name]
        if word == "":
            assert row["status"] in ("loaded", "partial"), (name, row)
        elif word == "partial":
            assert row["status"] == "partial" and row["rows_quarantined"] == 1, (name, row)
        elif word == "?":  # a file a reader may or may not understand: never failed, never silent
            assert row["status"] in ("loaded", "partial", "quarantined"), (name, row)
            if row["status"] == "quarantined":
                assert json.loads(row["reasons"]), (name, row)
        else:
            assert row["status"] in ("quarantined", "skipped", "partial"), (name, row)
            assert word.lower() in row["reasons"].lower(), (name, row)
    assert files["BTCUSDT-1m-2024-01-02.csv"]["rows_loaded"] == GOOD_BINANCE
    assert files["ETHUSD.csv"]["rows_loaded"] == GOOD_GENERIC
    assert files["LONGHIST.csv"]["rows_loaded"] == 312
    ns_file = files["SOLUSDT-1m-2024-01-05.csv"]  # one ns-epoch row in a ms file: the file mixes units
    assert ns_file["status"] == "quarantined" and ns_file["rows_loaded"] == 0 and json.loads(ns_file["reasons"])
    absurd = files["XRPUSD.csv"]
    assert absurd["status"] == "quarantined" and absurd["rows_loaded"] == 0
    assert json.loads(absurd["reasons"])[0]["reason"].startswith("4 of 64 rows failed error checks")
    for check in ("ts_implausible", "price_implausible", "volume_implausible"):
        assert check in absurd["reasons"], absurd
    loaded = sum(int(r["rows_loaded"]) for r in files.values())
    assert _query(settings, "SELECT count() AS n FROM bars_1m FINAL")["n"][0] == loaded
    bounds = _query(settings, "SELECT min(ts) AS lo, max(ts) AS hi FROM bars_1m FINAL").row(0)
    assert bounds[0].year == 2010 and bounds[1].year == 2024  # nothing from 1850, 2500 or an ns time loaded
    assert _query(settings, "SELECT max(high) AS h FROM bars_1m FINAL")["h"][0] < 1e6

    again = ingest(paths=[str(landing)])  # a rerun loads nothing and still refuses nothing new
    assert again["rows_loaded"] == 0 and again["files_failed"] == 0


SLOW_INGEST = """
import sys
from marketops.cli import app
sys.argv = ["marketops", "ingest", sys.argv[1]]
app()
"""


def test_sigterm_stops_a_run_cleanly_releasing_the_warehouse_and_recording_it_crashed(
    settings: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    for day in range(120):  # enough work (60 batches of 2) that the run is still busy when the signal comes
        start = 1_704_153_600_000 + day * 86_400_000
        (landing / f"BTCUSDT-1m-2024-01-{day % 28 + 1:02d}-{day}.csv").write_text("\n".join(klines(start, 1440)) + "\n")
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_INGEST, str(landing)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "MARKETOPS_INGEST_BATCH_MAX_FILES": "2", "MARKETOPS_INGEST_WORKERS": "1"},
    )
    # the CLI starts the background Prefect server under this home; it outlives the run by design (idle stop
    # after 30 min), so the test stops it rather than leave a server per suite run behind
    request.addfinalizer(lambda: stop_server(settings))
    lock = settings.warehouse_dir.parent / f".{settings.warehouse_dir.name}.lock"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (lock.exists() and str(child.pid) in lock.read_text()):
        time.sleep(0.2)
    assert child.poll() is None, child.stderr.read().decode()[-2000:] if child.stderr else ""
    time.sleep(1.5)
    child.send_signal(signal.SIGTERM)
    try:
        code = child.wait(timeout=60)
    except subprocess.TimeoutExpired:
        child.kill()
        raise AssertionError("the run did not stop within 60 s of SIGTERM") from None
    assert code == 128 + signal.SIGTERM, child.stderr.read().decode()[-2000:] if child.stderr else ""
    runs = _query(settings, "SELECT toString(status) AS status FROM runs FINAL WHERE flow = 'ingest'")
    assert runs["status"].to_list() == ["crashed"]  # the warehouse opened at once: the lock went with the process


def _bars(settings: Settings) -> pl.DataFrame:
    return _query(
        settings,
        "SELECT toString(venue) AS venue, symbol, ts, open, high, low, close, volume, source_id "
        "FROM bars_1m FINAL ORDER BY venue, symbol, ts",
    )


def _conflicts(settings: Settings) -> pl.DataFrame:
    return _query(
        settings,
        "SELECT symbol, ts, detail, source_id FROM anomalies FINAL WHERE check = 'duplicate_across_files' ORDER BY ts",
    )


def _overlap_files(root: Path) -> tuple[Path, Path]:
    """A daily file and a larger 'monthly' file of the same symbol sharing 1440 minutes, 3 of them conflicting."""
    root.mkdir(parents=True, exist_ok=True)
    start = 1_704_153_600_000  # 2024-01-02
    daily = klines(start, 1440)
    monthly = klines(start - 86_400_000, 3 * 1440)
    for i in (1440 + 10, 1440 + 11, 1440 + 500):  # the monthly file disagrees on three minutes of the shared day
        fields = monthly[i].split(",")
        fields[4] = str(float(fields[4]) + 0.5)
        monthly[i] = ",".join(fields)
    a = root / "BTCUSDT-1m-2024-01-02.csv"
    b = root / "BTCUSDT-1m-2024-01.csv"
    a.write_text("\n".join(daily) + "\n")
    b.write_text("\n".join(monthly) + "\n")
    return a, b


def test_an_overlap_inside_one_run_gives_the_same_tables_as_across_runs_whatever_the_order(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.settings import load_settings
    from flows.ingest import ingest

    a, b = _overlap_files(tmp_path / "landing")
    results = {}
    for name, order in (("one run", [[a, b]]), ("daily first", [[a], [b]]), ("monthly first", [[b], [a]])):
        monkeypatch.setenv("MARKETOPS_CLICKHOUSE_DATABASE", f"overlap_{name.replace(' ', '_')}")
        run_settings = load_settings()
        summaries = [ingest(paths=[str(p) for p in paths]) for paths in order]
        assert all(s["files_failed"] == 0 and s["files_quarantined"] == 0 for s in summaries), summaries
        results[name] = (_bars(run_settings), _conflicts(run_settings))
    bars, conflicts = results["one run"]
    assert bars.height == 3 * 1440  # the shared day loads once
    assert conflicts.height == 3  # the three conflicting minutes, each naming both files
    assert all(a.name in d and b.name in d for d in conflicts["detail"].to_list())
    assert all("kept: larger file" in d and d.index(b.name) < d.index(a.name) for d in conflicts["detail"])
    for name, (other_bars, other_conflicts) in results.items():
        assert other_bars.equals(bars), name  # the same winner (the larger file), the same values
        assert other_conflicts.select("symbol", "ts", "detail").equals(conflicts.select("symbol", "ts", "detail")), name


def test_a_replay_never_changes_the_winner_of_a_conflict(settings: Settings, tmp_path: Path) -> None:
    from flows.ingest import ingest

    a, b = _overlap_files(tmp_path / "landing")
    ingest(paths=[str(a), str(b)])
    before = _bars(settings)
    ingest(paths=[str(a)], reprocess=True)  # the smaller file judged again: it must not win now
    after = _bars(settings)
    assert after.equals(before)
    assert _query(settings, "SELECT count() AS n FROM bars_1m FINAL")["n"][0] == 3 * 1440


def test_reprocess_with_a_new_timezone_replaces_the_earlier_load_nothing_twice(
    settings: Settings, tmp_path: Path
) -> None:
    from flows.ingest import ingest

    landing = tmp_path / "landing"
    landing.mkdir()
    rows = [(f"2024-03-04 10:{m:02d}:00", 10.0, 11.0, 9.0, 10.5, 1.0) for m in range(30)]
    target = landing / "AAPL.csv"
    target.write_text(
        "time,open,high,low,close,volume\n" + "".join(f"{t},{o},{h},{lo},{c},{v}\n" for t, o, h, lo, c, v in rows)
    )
    first = ingest(paths=[str(landing)])
    assert first["rows_loaded"] == 30
    same = ingest(paths=[str(landing)], timezone="America/New_York")  # without --reprocess: unchanged, skipped
    assert same["files_skipped"] == 1 and same["rows_loaded"] == 0
    again = ingest(paths=[str(landing)], timezone="America/New_York", reprocess=True)
    assert again["rows_loaded"] == 30 and again["files_loaded"] == 1
    bars = _bars(settings)
    assert bars.height == 30 and bars["ts"].dt.hour().min() == 15  # 10:00 New York (EST) = 15:00 UTC
    assert _query(settings, "SELECT count() AS n FROM bars_1m")["n"][0] == 30  # the UTC reading is gone, not hidden
    files = _query(settings, "SELECT count() AS n, any(read_options) AS o FROM ingest_files FINAL")
    assert files["n"][0] == 1 and "America/New_York" in files["o"][0]


def test_a_redelivered_path_supersedes_its_old_version_and_a_copy_under_a_new_path_is_a_duplicate(
    settings: Settings, tmp_path: Path
) -> None:
    from flows.ingest import ingest
    from storage.warm.quarantine import quarantined_files

    landing = tmp_path / "landing"
    landing.mkdir()
    path = landing / "BTCUSDT-1m-2024-01-02.csv"
    broken = klines(1_704_153_600_000, 100)
    broken[5] = broken[5].replace(",3,", ",-3,").replace("1.5", "-1.5", 1)  # a negative volume: partial
    path.write_text("\n".join(broken) + "\n")
    assert ingest(paths=[str(landing)])["files_partial"] == 1
    with open_warehouse(settings) as warehouse:
        assert quarantined_files(warehouse).height == 1
    path.write_text("\n".join(klines(1_704_153_600_000, 90)) + "\n")  # corrected, shorter re-delivery
    fixed = ingest(paths=[str(landing)])
    assert fixed["files_loaded"] == 1 and fixed["rows_loaded"] == 90
    with open_warehouse(settings) as warehouse:
        assert quarantined_files(warehouse).height == 0  # the old version no longer counts
        assert warehouse.query_scalar("SELECT count() FROM quarantine_bars FINAL") == 0
        statuses = warehouse.query_df("SELECT toString(status) AS s FROM ingest_files FINAL ORDER BY s")["s"].to_list()
    assert statuses == ["loaded", "superseded"]
    assert _bars(settings).height == 90  # the 10 minutes only the old version held are gone with it

    (landing / "copy").mkdir()
    (landing / "copy" / "BTCUSDT-1m-2024-01-02.csv").write_bytes(path.read_bytes())
    copy = ingest(paths=[str(landing)])
    assert copy["files_duplicate"] == 1 and copy["rows_loaded"] == 0 and copy["files_loaded"] == 0
    dup = _query(settings, "SELECT reasons FROM ingest_files FINAL WHERE status = 'duplicate'")
    assert dup.height == 1 and str(path) in dup["reasons"][0]
    assert ingest(paths=[str(landing)])["files_skipped"] == 3 - 1  # settled, superseded aside: nothing re-read


def test_quarantine_replay_says_plainly_when_it_loaded_nothing_and_does_not_claim_success(
    settings: Settings, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from marketops.cli import app

    landing = tmp_path / "landing"
    landing.mkdir()
    bad = landing / "EURUSD.csv"
    bad.write_text("time,open,high,low,close,volume\n" + "".join(f"not a time {i},1,1,1,1,1\n" for i in range(20)))
    runner = CliRunner()
    first = runner.invoke(app, ["ingest", str(landing)])
    assert first.exit_code == 0, first.output
    assert _manifest(settings)["EURUSD.csv"]["status"] == "quarantined"
    replay = runner.invoke(app, ["quarantine", "replay", "--file", str(bad), "--no-revalidate"])
    assert replay.exit_code == 1, replay.output
    assert "replay loaded nothing" in replay.output and "EURUSD.csv" in replay.output
    assert "--reprocess" in replay.output  # and what to do instead
