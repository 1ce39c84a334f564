"""The ingest flow on the real embedded engines under a real Prefect API."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.samples import InjectionManifest, SampleSpec, generate
from core.settings import Settings
from storage.landing import write_file
from storage.warm import open_warehouse

pytestmark = pytest.mark.usefixtures("prefect_api")


def _landing(settings: Settings, spec: SampleSpec) -> tuple[Path, InjectionManifest]:
    landing = settings.samples_dir / "landing"
    manifest = InjectionManifest()
    for sample in generate(spec, manifest):
        write_file(landing, sample.relative_path, sample.data)
    return landing, manifest


def _count(settings: Settings, sql: str) -> int:
    with open_warehouse(settings) as warehouse:
        return int(warehouse.query_scalar(sql))


def test_generated_files_load_exactly_what_the_injection_manifest_predicts(settings: Settings) -> None:
    from flows.ingest import ingest

    landing, manifest = _landing(settings, SampleSpec(symbols=4, days=3))
    expected = manifest.as_dict()
    summary = ingest(paths=[str(landing)])
    assert summary["files_seen"] == 12
    assert summary["rows_loaded"] == expected["expected_rows_loaded"]
    assert summary["rows_quarantined"] == expected["expected_rows_quarantined"]
    assert summary["rows_duplicate"] == expected["expected_rows_duplicate"]
    assert summary["files_quarantined"] == expected["expected_files_quarantined"]
    assert summary["files_partial"] == expected["expected_files_partial"]
    assert summary["files_failed"] == 0 and summary["ok"] is True
    assert _count(settings, "SELECT count() FROM bars_1m FINAL") == expected["expected_rows_loaded"]

    with open_warehouse(settings) as warehouse:
        found = warehouse.query_df("SELECT check, count() AS n FROM anomalies FINAL GROUP BY check")
        by_check = dict(found.iter_rows())
        reasons = warehouse.query_df("SELECT path, reasons FROM ingest_files FINAL WHERE status = 'quarantined'")
        quarantined_lines = warehouse.query_df(
            "SELECT line, raw, checks FROM quarantine_bars FINAL WHERE has(checks, 'row_unparseable')"
        )
    planted = {i["kind"] for i in expected["injected"]}
    for kind in ("high_below_low", "price_not_finite_positive", "volume_negative", "duplicate_ts_conflict"):
        assert kind in planted and by_check.get(kind, 0) >= 1, (kind, by_check)
    assert by_check["duplicate_ts_conflict"] == 2 and by_check["row_unparseable"] == 1
    assert reasons.height == 1 and "no reader accepts" in reasons["reasons"][0]
    assert quarantined_lines.height == 1 and quarantined_lines["raw"][0] is not None


def test_a_rerun_loads_nothing_new(settings: Settings) -> None:
    from flows.ingest import ingest

    landing, _ = _landing(settings, SampleSpec(symbols=2, days=2, inject=False, fx_share=0))
    first = ingest(paths=[str(landing)])
    second = ingest(paths=[str(landing)])
    assert first["rows_loaded"] == 2 * 2 * 1440
    assert second["files_skipped"] == second["files_seen"] == first["files_seen"]
    assert second["rows_loaded"] == 0
    assert _count(settings, "SELECT count() FROM bars_1m") == first["rows_loaded"]


def test_an_ingest_run_starts_the_embedded_engine_once_and_lets_it_go_at_the_end(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every task opens the warehouse, but the run reuses one adapter (one engine start, not one per task)."""
    from flows.ingest import ingest
    from storage.warm.clickhouse_backend import ClickHouseWarehouse
    from storage.warm.factory import idle_adapters

    opened: list[ClickHouseWarehouse] = []
    real = ClickHouseWarehouse.embedded.__func__  # type: ignore[attr-defined]

    def counted(cls: type[ClickHouseWarehouse], *args: object, **kwargs: object) -> ClickHouseWarehouse:
        opened.append(real(cls, *args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(ClickHouseWarehouse, "embedded", classmethod(counted))
    landing, _ = _landing(settings, SampleSpec(symbols=1, days=1, inject=False, fx_share=0))
    summary = ingest(paths=[str(landing)])
    assert summary["rows_loaded"] == 1440 and summary["ok"] is True
    assert len(opened) == 1, f"{len(opened)} adapters opened by one run"
    assert idle_adapters() == 0 and opened[0]._closed  # closed when the run ended: other processes may open it
    monkeypatch.undo()
    assert _count(settings, "SELECT count() FROM bars_1m") == 1440


def test_a_touched_but_unchanged_file_is_hashed_once_then_skipped_unread(settings: Settings) -> None:
    from flows.ingest import ingest

    landing, _ = _landing(settings, SampleSpec(symbols=1, days=1, inject=False, fx_share=0))
    ingest(paths=[str(landing)])
    target = next(landing.rglob("*.csv"))
    os.utime(target, ns=(1, 1))  # mtime changes, content does not
    again = ingest(paths=[str(landing)])
    assert again["files_skipped"] == 1 and again["rows_loaded"] == 0 and again["files_loaded"] == 0
    # the manifest row now carries the new mtime, so the planner skips the file without reading it
    assert _count(settings, f"SELECT mtime_ns FROM ingest_files FINAL WHERE path = '{target.resolve()}'") == 1
    assert _count(settings, "SELECT count() FROM ingest_files FINAL") == 1
    with open_warehouse(settings) as warehouse:
        from core.batching import unchanged
        from storage.landing import list_files
        from storage.warm.ingest_ledger import settled_files

        assert unchanged(list_files([landing]), settled_files(warehouse)).height == 1


def test_real_binance_days_load_2819_bars_and_rerun_keeps_2819(settings: Settings, real_data: Path) -> None:
    from flows.ingest import ingest

    folder = real_data / "binance-spot-btcusdt-1m-daily"
    first = ingest(paths=[str(folder)])
    assert (first["rows_loaded"], first["rows_quarantined"], first["files_loaded"]) == (2819, 0, 2)
    second = ingest(paths=[str(folder)])
    assert second["rows_loaded"] == 0
    assert _count(settings, "SELECT count() FROM bars_1m FINAL") == 2819
    assert _count(settings, "SELECT count() FROM bars_1m") == 2819


def test_real_histdata_and_sp500_load_with_exact_counts(settings: Settings, real_data: Path) -> None:
    from flows.ingest import ingest

    summary = ingest(
        paths=[str(real_data / "histdata-eurusd-m1"), str(real_data / "sp500-index-1m-intraday")],
        timezone="America/New_York",
        date_order="mdy",  # 11/5/2019 .. 11/8/2019: no day above 12, so only the operator can say
    )
    assert summary["rows_loaded"] == 7192 + 1563
    with open_warehouse(settings) as warehouse:
        per = dict(warehouse.query_df("SELECT symbol, count() FROM bars_1m FINAL GROUP BY symbol").iter_rows())
        first_sp = warehouse.query_scalar("SELECT toString(min(ts)) FROM bars_1m FINAL WHERE symbol = 'SP500'")
    assert per == {"EURUSD": 7192, "SP500": 1563}
    assert first_sp.startswith("2019-11-05 14:30:00")


def test_a_malformed_file_among_real_ones_is_quarantined_and_the_rest_loads(
    settings: Settings, real_data: Path, tmp_path: Path
) -> None:
    from flows.ingest import ingest

    landing = tmp_path / "mixed"
    shutil.copytree(real_data / "binance-spot-btcusdt-1m-daily", landing)
    (landing / "BTCUSDT-1m-2025-06-16.csv").write_text("this is not market data\nat all\n")
    summary = ingest(paths=[str(landing)])
    assert (summary["files_loaded"], summary["files_quarantined"], summary["rows_loaded"]) == (2, 1, 2819)
    with open_warehouse(settings) as warehouse:
        reason = warehouse.query_scalar("SELECT reasons FROM ingest_files FINAL WHERE status = 'quarantined'")
    assert "no reader accepts this file" in json.loads(reason)[0]["reason"]


CRASHING_LOAD = textwrap.dedent(
    """
    import os, sys
    import storage.warm.ingest_ledger as ledger
    from core.batching import plan_batches
    from core.parse import ReadOptions
    from core.settings import load_settings
    from storage.landing import list_files
    from storage.warm.schema import migrate
    from storage.warm import open_warehouse
    from tasks.ingest import load_batch
    from pathlib import Path

    real_insert = ledger.Warehouse.insert_df
    def insert_then_die(self, table, frame, token=None, **options):
        if table == "ingest_files":
            os._exit(9)  # the process dies after the data insert, before the manifest row
        return real_insert(self, table, frame, token, **options)
    ledger.Warehouse.insert_df = insert_then_die

    settings = load_settings()
    with open_warehouse(settings) as wh:
        migrate(wh)
    batches = plan_batches(list_files([Path(sys.argv[1])]), settings.ingest_batch_max_files)
    load_batch.fn(settings, batches[0], ReadOptions(), "crashing-run")
    """
)


def test_a_crash_between_insert_and_manifest_then_a_rerun_leaves_exact_counts(settings: Settings) -> None:
    from flows.ingest import ingest

    landing, manifest = _landing(settings, SampleSpec(symbols=1, days=2, inject=False, fx_share=0))
    child = subprocess.run(
        [sys.executable, "-c", CRASHING_LOAD, str(landing)],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
    )
    assert child.returncode == 9, child.stderr[-2000:]
    assert _count(settings, "SELECT count() FROM bars_1m") == 2 * 1440  # the data made it in...
    assert _count(settings, "SELECT count() FROM ingest_files") == 0  # ...the manifest did not

    summary = ingest(paths=[str(landing)])
    assert summary["files_loaded"] == 2  # not known as loaded, so the rerun loads them again
    assert _count(settings, "SELECT count() FROM bars_1m") == 2 * 1440  # the repeated insert was dropped by its token
    assert _count(settings, "SELECT count() FROM bars_1m FINAL") == manifest.as_dict()["expected_rows_loaded"]
    assert _count(settings, "SELECT count() FROM ingest_files FINAL WHERE status = 'loaded'") == 2


def test_a_failed_run_writes_one_alert_line_and_records_the_run(settings: Settings, tmp_path: Path) -> None:
    from flows.ingest import ingest
    from storage.alerts import AlertLog

    state = ingest(paths=[str(tmp_path / "does-not-exist")], return_state=True)
    assert state.is_failed()
    alerts = AlertLog(settings.alerts_log).read()
    assert len(alerts) == 1 and alerts[0]["flow"] == "ingest" and "does not exist" in alerts[0]["summary"]
    assert alerts[0]["kind"] == "flow_failed" and alerts[0]["folded"] is False


def test_daily_runs_ingest_as_a_subflow(settings: Settings) -> None:
    from flows.daily import daily

    landing, manifest = _landing(settings, SampleSpec(symbols=2, days=1, inject=False, fx_share=0))
    result = daily(paths=[str(landing)])
    assert result["ingest"]["rows_loaded"] == manifest.as_dict()["expected_rows_loaded"]
    assert _count(settings, "SELECT count() FROM runs FINAL WHERE flow = 'ingest' AND status = 'completed'") == 1
