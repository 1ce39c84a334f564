"""`marketops status` answers the on-call questions, stays valid JSON when a store is down, and a validate run
that checked nothing is never shown as passed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from core.settings import Settings
from marketops.cli import app
from tests.test_alerts import _free_port

runner = CliRunner()


@pytest.fixture(autouse=True)
def _prefect_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))


def test_status_with_the_warehouse_down_is_json_with_errors_and_exit_2(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: no JSON at all, only an error line."""
    monkeypatch.setenv("MARKETOPS_CLICKHOUSE_URL", f"http://127.0.0.1:{_free_port()}")
    monkeypatch.setenv("MARKETOPS_CLICKHOUSE_CONNECT_TIMEOUT_S", "1")
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 2
    report = json.loads(result.stdout.splitlines()[0])
    for section in ("warm", "ingest", "freshness", "validation", "backups"):
        assert "error" in report[section], section
    assert "error" not in report["cold"] and report["hot"]["lag"] is None  # the rest still reports
    human = runner.invoke(app, ["status"])
    assert human.exit_code == 2 and "error" in human.output and "{'" not in human.output


@pytest.mark.usefixtures("prefect_api")
def test_status_reports_finished_runs_freshness_hot_lag_and_quarantine(
    settings: Settings, real_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.settings import PREFECT_API_URL

    monkeypatch.setenv("PREFECT_API_URL", str(PREFECT_API_URL.value()))
    monkeypatch.setenv("MARKETOPS_STALE_AFTER_MINUTES", "60")
    days = sorted((real_data / "binance-spot-btcusdt-1m-daily").glob("*.csv"))
    assert runner.invoke(app, ["ingest", str(days[0])]).exit_code == 0
    assert runner.invoke(app, ["warmup"]).exit_code == 0
    assert runner.invoke(app, ["ingest", str(days[1])]).exit_code == 0  # the hot tier follows this one

    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)

    ingest_run = report["orchestration"]["flows"]["ingest"]["last_finished"]
    assert ingest_run["state"] == "COMPLETED" and ingest_run["start"] and ingest_run["end"]
    assert ingest_run["duration_s"] >= 0 and ingest_run["link"].endswith("/runs/flow-run/" + ingest_run["link"][-36:])

    btc = report["freshness"]["symbols"]["binance:BTCUSDT"]
    assert btc["newest_bar"][:4] in {"2019", "2025"} and btc["age_s"] > 86400 and btc["stale"] is True
    assert report["freshness"]["stale"] == 1 and report["freshness"]["stale_after_minutes"] == 60

    hot = report["hot"]
    assert hot["epoch"] and hot["epoch_age_s"] >= 0 and hot["last_update"] is not None
    assert hot["lag"]["binance:BTCUSDT"] == {
        "warm_newest": btc["newest_bar"],
        "hot_newest": btc["newest_bar"],
        "lag_s": 0.0,
        "behind": False,
    }
    assert hot["symbols_behind"] == 0
    assert report["quarantine_24h"]["files_quarantined"] == 0 and "since" in report["quarantine_24h"]
    assert report["backups"]["last"] is None

    human = runner.invoke(app, ["status"])
    assert human.exit_code == 0 and "{'" not in human.output
    assert "freshness.symbols" in human.output and "binance:BTCUSDT" in human.output


@pytest.mark.usefixtures("prefect_api")
def test_a_validate_of_an_empty_range_is_no_data_not_a_pass(settings: Settings) -> None:
    """Before: status said 100% passed and latest.html was green for a run that checked no row."""
    done = runner.invoke(app, ["validate", "--since", "2024-06-03"])
    assert done.exit_code == 0, done.output
    assert "NO DATA" in done.output
    status = json.loads(runner.invoke(app, ["status", "--json"]).stdout)["validation"]
    assert status["state"] == "no_data" and status["pass_rate_files"] is None and status["pass_rate_rows"] is None
    assert status["breach"] is False
    latest = (settings.reports_dir / "latest.html").read_text()
    assert (
        'id="state">no_data<' in latest and "NO DATA" in latest and "100.000%" not in latest and ">100%<" not in latest
    )


@pytest.mark.usefixtures("prefect_api")
def test_latest_is_the_newest_range_and_an_index_lists_every_report(settings: Settings, real_data: Path) -> None:
    """Before: re-validating an old range (a replay, a backfill) replaced latest.html and status.validation."""
    folder = real_data / "binance-spot-btcusdt-1m-daily"
    assert runner.invoke(app, ["ingest", str(folder)]).exit_code == 0
    assert runner.invoke(app, ["validate", "--since", "2025-06-15", "--until", "2025-06-15"]).exit_code == 0
    assert (
        runner.invoke(app, ["validate", "--since", "2019-06-07", "--until", "2019-06-07"]).exit_code == 0
    )  # an old range, checked later

    latest = (settings.reports_dir / "latest.html").read_text()
    assert '"first": "2025-06-15"' in latest.replace("&quot;", '"')
    index = (settings.reports_dir / "index.html").read_text()
    assert "2019-06-07 .. 2019-06-07" in index and "2025-06-15 .. 2025-06-15" in index
    assert index.index("2025-06-15 .. 2025-06-15") < index.index("2019-06-07 .. 2019-06-07")  # newest range first
    status = json.loads(runner.invoke(app, ["status", "--json"]).stdout)["validation"]
    assert status["range"] == "2025-06-15..2025-06-15" and status["state"] in {"ok", "breach"}


@pytest.mark.usefixtures("prefect_api")
def test_a_deployments_last_finished_run_and_next_scheduled_run_are_reported_apart() -> None:
    """Before: `last_run` was the newest run by expected start — the next SCHEDULED one, start_time null."""
    from datetime import UTC, datetime, timedelta

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import State
    from prefect.settings import PREFECT_API_URL
    from prefect.states import Completed, Failed, Running, Scheduled

    from deployments.run_history import run_history

    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("status-probe")
        deployment_id = client.create_deployment(flow_id=flow_id, name="status-probe-every-15m")
        finals: list[State[Any]] = [Failed(message="boom"), Completed()]
        for final in finals:
            run = client.create_flow_run_from_deployment(deployment_id, state=Scheduled())
            client.set_flow_run_state(run.id, Running(), force=True)
            client.set_flow_run_state(run.id, final, force=True)
            last_id = run.id
        soon = datetime.now(UTC) + timedelta(minutes=15)
        client.create_flow_run_from_deployment(deployment_id, state=Scheduled(scheduled_time=soon))

    history = run_history(str(PREFECT_API_URL.value()), "http://ui.example")
    mine = history["deployments"]["status-probe-every-15m"]
    assert mine["last_finished"]["state"] == "COMPLETED"
    assert mine["last_finished"]["start"] and mine["last_finished"]["end"] and mine["last_finished"]["duration_s"] >= 0
    assert mine["last_finished"]["link"] == f"http://ui.example/runs/flow-run/{last_id}"
    assert mine["next_scheduled"] is not None
    assert datetime.fromisoformat(mine["next_scheduled"]["expected_start"]) > datetime.now(UTC)
    assert history["flows"]["status-probe"]["last_finished"]["state"] == "COMPLETED"
