"""Ingest robustness on the real engines: nothing one landing entry is or contains stops a run or another file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from core.settings import Settings
from storage.warm import open_warehouse
from tests.hostile import GOOD_BINANCE, GOOD_GENERIC, NS_FILE_ROWS, klines, write_hostile_landing

pytestmark = pytest.mark.usefixtures("prefect_api")


def _query(settings: Settings, sql: str) -> pl.DataFrame:
    with open_warehouse(settings) as warehouse:
        return warehouse.query_df(sql)


def _manifest(settings: Settings) -> dict[str, dict[str, object]]:
    rows = _query(settings, "SELECT path, toString(status) AS status, rows_loaded, rows_quarantined, reasons FROM ingest_files FINAL")
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
    ns_file = files["SOLUSDT-1m-2024-01-05.csv"]
    assert (ns_file["rows_loaded"], ns_file["rows_quarantined"]) == (NS_FILE_ROWS - 1, 1)
    assert "ts_implausible" in ns_file["reasons"] or "row_unparseable" in ns_file["reasons"]
    absurd = files["XRPUSD.csv"]
    assert absurd["status"] == "quarantined" and absurd["rows_loaded"] == 0
    for check in ("ts_implausible", "price_implausible", "volume_implausible"):
        assert check in absurd["reasons"], absurd
    loaded = sum(int(r["rows_loaded"]) for r in files.values())
    assert _query(settings, "SELECT count() AS n FROM bars_1m FINAL")["n"][0] == loaded
    bounds = _query(settings, "SELECT min(ts) AS lo, max(ts) AS hi FROM bars_1m FINAL").row(0)
    assert bounds[0].year == 2024 and bounds[1].year == 2024  # nothing from 1850, 2500 or an ns time loaded
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
    settings: Settings, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    for day in range(40):  # enough work that the run is still busy when the signal comes
        start = 1_704_153_600_000 + day * 86_400_000
        (landing / f"BTCUSDT-1m-2024-01-{day % 28 + 1:02d}-{day}.csv").write_text("\n".join(klines(start, 1440)) + "\n")
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_INGEST, str(landing)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "MARKETOPS_INGEST_BATCH_MAX_FILES": "2", "MARKETOPS_INGEST_WORKERS": "1"},
    )
    lock = settings.warehouse_dir.parent / f".{settings.warehouse_dir.name}.lock"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (lock.exists() and str(child.pid) in lock.read_text()):
        time.sleep(0.2)
    assert child.poll() is None, child.stderr.read().decode()[-2000:] if child.stderr else ""
    time.sleep(3)
    child.send_signal(signal.SIGTERM)
    try:
        code = child.wait(timeout=60)
    except subprocess.TimeoutExpired:
        child.kill()
        raise AssertionError("the run did not stop within 60 s of SIGTERM") from None
    assert code == 128 + signal.SIGTERM, child.stderr.read().decode()[-2000:] if child.stderr else ""
    runs = _query(settings, "SELECT toString(status) AS status FROM runs FINAL WHERE flow = 'ingest'")
    assert runs["status"].to_list() == ["crashed"]  # the warehouse opened at once: the lock went with the process
