"""validate over the real samples in chDB.

Real events become the right anomalies; allowlist + replay; the report in Chromium.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from core.settings import Settings
from flows.ingest import ingest
from flows.replay import replay
from flows.validate import validate
from marketops.cli import app
from storage.warm import open_warehouse

pytestmark = pytest.mark.usefixtures("prefect_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HALT_DAY = date(2019, 6, 7)


def _anomalies(settings: Settings) -> pl.DataFrame:
    with open_warehouse(settings) as warehouse:
        return warehouse.query_df(
            "SELECT symbol, ts, end_ts, minutes, toString(check) AS check, known_event, toString(origin) AS origin "
            "FROM anomalies FINAL ORDER BY ts"
        )


def test_real_binance_halt_is_a_stale_run_then_a_gap_and_a_rerun_rewrites_not_doubles(
    settings: Settings, real_data: Path
) -> None:
    ingest(paths=[str(real_data / "binance-spot-btcusdt-1m-daily")])
    first = validate(since=HALT_DAY, until=HALT_DAY, report=False)
    found = _anomalies(settings).filter(pl.col("ts").dt.date() == HALT_DAY)
    assert found.select("check", "minutes").rows() == [("stale_run", 73), ("gap", 61)]
    stale, gap = found.row(0, named=True), found.row(1, named=True)
    assert (stale["ts"].strftime("%H:%M"), stale["end_ts"].strftime("%H:%M")) == ("20:01", "21:13")
    assert (gap["ts"].strftime("%H:%M"), gap["end_ts"].strftime("%H:%M")) == ("21:14", "22:14")
    assert first["rows_checked"] == 1379 and first["pass_rate_rows"] == 1.0 and first["files_checked"] == 1
    assert first["anomalies_by_check"] == {"gap": 1, "stale_run": 1}
    validate(since=HALT_DAY, until=HALT_DAY, report=False)
    assert _anomalies(settings).filter(pl.col("ts").dt.date() == HALT_DAY).height == 2  # rewritten, not doubled


def test_real_histdata_week_and_sp500_sessions(settings: Settings, real_data: Path) -> None:
    ingest(paths=[str(real_data / "histdata-eurusd-m1")])
    ingest(
        paths=[str(real_data / "sp500-index-1m-intraday")], venue="nyse", timezone="America/New_York", date_order="mdy"
    )
    summary = validate(since=date(2015, 2, 1), until=date(2015, 2, 6), report=False)
    fx = _anomalies(settings).filter(pl.col("symbol") == "EURUSD")
    gaps = fx.filter(pl.col("check") == "gap")
    assert gaps.height == 8 and gaps["minutes"].to_list() == [1] * 8  # eight intraday holes; the weekend is no gap
    nfp = fx.filter(pl.col("check") == "spike")
    assert nfp["known_event"].to_list() == [
        "us-nfp-2015-02-06"
    ]  # the payrolls minute, explained by the bundled allowlist
    assert summary["known_events"] == {"us-nfp-2015-02-06": 1} and "spike" not in summary["anomalies_by_check"]
    sp = validate(since=date(2019, 11, 5), until=date(2019, 11, 8), report=False)
    off = _anomalies(settings).filter(pl.col("symbol") == "SP500")
    assert off["check"].to_list() == ["outside_session"] * 3  # the 16:00 prints of 5-7 Nov; no overnight gaps
    assert sp["anomalies_by_check"] == {"outside_session": 3}


def test_every_planted_warning_of_the_sample_set_is_found(settings: Settings) -> None:
    from core.samples import InjectionManifest, SampleSpec, generate
    from storage.landing import write_file

    manifest = InjectionManifest()
    for sample in generate(SampleSpec(symbols=4, days=3), manifest):
        write_file(settings.default_landing_dir, sample.relative_path, sample.data)
    ingest(paths=[str(settings.default_landing_dir)])
    validate(since=date(2024, 6, 3), until=date(2024, 6, 5), report=False)
    found = _anomalies(settings).with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("at"))
    planted = {i["kind"]: i for i in manifest.injected if i["kind"] in ("stale_run", "spike", "gap")}
    assert set(planted) == {"stale_run", "spike", "gap"}
    stale = found.filter((pl.col("check") == "stale_run") & (pl.col("at") == planted["stale_run"]["ts"]))
    assert stale["minutes"].to_list() == [planted["stale_run"]["bars"]]
    gap = found.filter((pl.col("check") == "gap") & (pl.col("at") == planted["gap"]["ts"]))
    assert gap["minutes"].to_list() == [planted["gap"]["minutes"]]
    assert found.filter((pl.col("check") == "spike") & (pl.col("at") == planted["spike"]["ts"])).height == 1


def test_allowlist_then_replay_explains_and_loads_no_row_twice(
    settings: Settings, real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file with a broken stretch: 100 rows with high < low during the halt hour, quarantined whole (> 5%).
    source = (real_data / "binance-spot-btcusdt-1m-daily" / "BTCUSDT-1m-2019-06-07.csv").read_text().splitlines()
    broken = []
    for i, line in enumerate(source):
        f = line.split(",")
        if 1100 <= i < 1200:
            f[2], f[3] = f[3], f[2]  # high <-> low
        broken.append(",".join(f))
    landing = tmp_path / "landing"
    landing.mkdir()
    path = landing / "BTCUSDT-1m-2019-06-07.csv"
    path.write_text("\n".join(broken) + "\n")
    first = ingest(paths=[str(landing)])
    assert first["files_quarantined"] == 1 and first["rows_loaded"] == 0
    before = validate(since=HALT_DAY, until=HALT_DAY, report=False)
    assert before["pass_rate_files"] == 0.0 and before["breach"]

    events = tmp_path / "events.toml"
    events.write_text(
        'version = 2\n[[event]]\nid = "test-feed-glitch"\nvenue = "binance"\nsymbol = "BTCUSDT"\n'
        "start = 2019-06-07T00:00:00Z\nend = 2019-06-08T00:00:00Z\n"
        'checks = ["high_below_low", "high_below_open_close", "low_above_open_close"]\n'
        'note = "test: a known vendor glitch"\n'
    )
    monkeypatch.setenv("MARKETOPS_KNOWN_EVENTS_FILES", str(events))
    result = replay(paths=[str(path)])
    assert result["files_replayed"] == 1
    with open_warehouse(settings) as warehouse:
        loaded = warehouse.query_scalar("SELECT count() FROM bars_1m FINAL")
        quarantined = warehouse.query_scalar("SELECT count() FROM quarantine_bars FINAL")
        manifest = warehouse.query_df("SELECT status, rows_loaded, rows_quarantined FROM ingest_files FINAL").row(
            0, named=True
        )
    assert (loaded, quarantined) == (1279, 100)  # the good rows loaded, the broken ones stay quarantined
    assert manifest == {"status": "partial", "rows_loaded": 1279, "rows_quarantined": 100}
    after = validate(since=HALT_DAY, until=HALT_DAY, report=False)
    assert after["pass_rate_files"] == 1.0 and after["pass_rate_rows"] == 1.0 and not after["breach"]
    assert after["known_events"]["test-feed-glitch"] > 0
    replay(paths=[str(path)])  # a second replay (of a file now partly loaded) changes nothing
    with open_warehouse(settings) as warehouse:
        assert warehouse.query_scalar("SELECT count() FROM bars_1m FINAL") == 1279
        assert (
            warehouse.query_scalar("SELECT count() FROM (SELECT ts FROM bars_1m FINAL GROUP BY ts HAVING count() > 1)")
            == 0
        )


def test_an_allowlisted_halt_leaves_the_failure_counts_after_replaying_its_file(
    settings: Settings, real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = real_data / "binance-spot-btcusdt-1m-daily" / "BTCUSDT-1m-2019-06-07.csv"
    ingest(paths=[str(path)])
    assert validate(since=HALT_DAY, until=HALT_DAY, report=False)["anomalies_by_check"] == {"gap": 1, "stale_run": 1}
    events = tmp_path / "events.toml"
    events.write_text(
        'version = 1\n[[event]]\nid = "binance-2019-06-07-halt"\nvenue = "binance"\nsymbol = "*"\n'
        'start = 2019-06-07T20:00:00Z\nend = 2019-06-07T22:15:00Z\nchecks = ["stale_run", "gap"]\nnote = "test"\n'
    )
    monkeypatch.setenv("MARKETOPS_KNOWN_EVENTS_FILES", str(events))
    result = replay(paths=[str(path)])
    assert result["files_replayed"] == 1 and "0 anomalies" in result["validated"]
    status = json.loads(CliRunner().invoke(app, ["status", "--json"]).output)["validation"]
    assert status["anomalies_by_check"] == {} and status["known_events"] == {"binance-2019-06-07-halt": 2}
    with open_warehouse(settings) as warehouse:
        assert warehouse.query_scalar("SELECT count() FROM bars_1m FINAL") == 1379


def test_cli_validate_report_quarantine_and_status(settings: Settings, real_data: Path, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(real_data / "binance-spot-btcusdt-1m-daily", landing)
    (landing / "BTCUSDT-1m-2019-06-08.csv").write_text("not,a,kline\n")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(landing)]).exit_code == 0
    done = runner.invoke(app, ["validate", "--since", "2019-06-07", "--until", "2019-06-08"])
    assert done.exit_code == 0, done.output
    assert "stale_run=1" in done.output and "report:" in done.output
    listing = runner.invoke(app, ["quarantine", "list", "--json"])
    assert listing.exit_code == 0 and "BTCUSDT-1m-2019-06-08.csv" in listing.output
    assert json.loads(runner.invoke(app, ["quarantine", "list", "--json", "--reason", "no_such_reason"]).output) == []
    status = json.loads(runner.invoke(app, ["status", "--json"]).output)["validation"]
    assert set(status) >= {"pass_rate_files", "pass_rate_rows", "anomalies_by_check"}
    # The halt's gap, and all of 8 June: its only file was unreadable, so the day is missing from the store.
    assert status["anomalies_by_check"] == {"gap": 2, "stale_run": 1}
    # An unreadable file has no minute to place it in 2019: it counts on the day it was ingested (today), not here.
    assert status["pass_rate_files"] == 1.0 and status["pass_rate_rows"] == 1.0
    assert runner.invoke(app, ["validate", "--since", "2019-06-09", "--until", "2019-06-01"]).exit_code != 0
    assert runner.invoke(app, ["validate", "--since", "yesterday"]).exit_code == 2

    path = Path(runner.invoke(app, ["report"]).output.strip())
    assert path.name == "latest.html" and path.exists()
    text = path.read_text()
    for section in (
        "pass-rates",
        "anomalies-by-check",
        "heatmap",
        "gaps",
        "quarantined-files",
        "trend",
        "expectations",
    ):
        assert f'id="{section}"' in text
    # offline: plotly.js is one file beside the reports (not 4.8 MB inlined per report), nothing from the internet
    assert (path.parent / re_src(text)).exists() and not re_src(text).startswith(("http:", "https:", "//"))
    assert path.stat().st_size < 500_000
    assert 'id="gx-results"' in text and "Data Docs are not linked" in text  # GX results shown in the report
    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (the README test command installs Debian's chromium)")
    shot = tmp_path / "report.png"
    args = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1400,3200",
        "--virtual-time-budget=10000",
    ]
    shown = subprocess.run([*args, f"--screenshot={shot}", path.as_uri()], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and shot.stat().st_size > 50_000
    console = [line for line in shown.stderr.splitlines() if "CONSOLE" in line and ("Error" in line or "error" in line)]
    assert console == [], console
    dom = subprocess.run([*args, "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert dom.count('class="plot-container plotly"') >= 5  # every chart drew


def re_src(text: str) -> str:
    import re

    match = re.search(r'<script src="([^"]+)"', text)
    assert match, "the report loads no plotly.js"
    return match.group(1)
