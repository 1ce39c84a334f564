"""The marketops CLI: help everywhere, exit codes that tell success from failure, status JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import Settings
from marketops.cli import app

runner = CliRunner()
COMMANDS = ["init", "ingest", "demo", "sql", "status"]


@pytest.fixture(autouse=True)
def _prefect_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the CLI defaults PREFECT_HOME; pin it here so the test process env is restored afterwards
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)])
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_init_twice_is_safe(settings: Settings) -> None:
    first = runner.invoke(app, ["init"])
    second = runner.invoke(app, ["init"])
    assert first.exit_code == second.exit_code == 0
    assert "applied now: nothing" in second.output


def test_ingest_of_a_missing_path_exits_2_with_a_message(settings: Settings) -> None:
    result = runner.invoke(app, ["ingest", "/no/such/dir"])
    assert result.exit_code == 2
    assert "no such file or directory" in result.output


def test_sql_reports_a_bad_query_with_exit_1(settings: Settings) -> None:
    runner.invoke(app, ["init"])
    result = runner.invoke(app, ["sql", "SELECT * FROM nope"])
    assert result.exit_code == 1 and "error" in result.output


@pytest.mark.usefixtures("prefect_api")
def test_ingest_then_sql_and_status_json(settings: Settings, real_data: Path) -> None:
    folder = str(real_data / "binance-spot-btcusdt-1m-daily")
    result = runner.invoke(app, ["ingest", folder])
    assert result.exit_code == 0, result.output
    assert "2,819 loaded" in result.output

    count = runner.invoke(app, ["sql", "SELECT count() FROM bars_1m FINAL"])
    assert count.exit_code == 0 and count.output.strip() == "2819"
    as_csv = runner.invoke(
        app, ["sql", "SELECT symbol, count() AS n FROM bars_1m FINAL GROUP BY symbol", "--format", "csv"]
    )
    assert as_csv.output.splitlines() == ["symbol,n", "BTCUSDT,2819"]

    status = runner.invoke(app, ["status", "--json"])
    assert status.exit_code == 0, status.output
    report = json.loads(status.output)
    assert report["warm"]["backend"] == "chdb"
    assert (report["warm"]["bars"], report["warm"]["symbols"]) == (2819, 1)
    assert (
        report["ingest"]["files_loaded"],
        report["ingest"]["files_quarantined"],
        report["ingest"]["rows_quarantined"],
    ) == (2, 0, 0)


@pytest.mark.usefixtures("prefect_api")
def test_maintenance_commands_backup_list_restore_and_status(settings: Settings, real_data: Path) -> None:
    for day in sorted(
        (real_data / "binance-spot-btcusdt-1m-daily").glob("*.csv")
    ):  # two runs: two parts of ingest_files
        assert runner.invoke(app, ["ingest", str(day)]).exit_code == 0
    optimized = runner.invoke(app, ["optimize"])
    assert optimized.exit_code == 0, optimized.output
    assert "2 of 2 partitions" in optimized.output  # ingest_files and runs: one part per run each
    made = runner.invoke(app, ["backup"])
    assert made.exit_code == 0, made.output
    assert "restored and matched" in made.output

    listed = json.loads(runner.invoke(app, ["backups", "list", "--json"]).output)
    assert [(b["kind"], b["status"]) for b in listed] == [("full", "verified")]
    name = listed[0]["name"]

    restored = runner.invoke(app, ["restore", name, "--table", "bars_1m", "--partition", "201906", "--into", "shadow"])
    assert restored.exit_code == 0, restored.output
    assert "bars_1m 1,379 rows" in restored.output
    again = runner.invoke(app, ["restore", name, "--table", "bars_1m", "--into", "shadow"])
    assert again.exit_code == 1 and "already holds data" in again.output
    assert runner.invoke(app, ["backups", "prune", "--dry-run"]).output.startswith("would delete: nothing")

    report = json.loads(runner.invoke(app, ["status", "--json"]).output)
    assert report["maintenance"]["last_optimize"] is not None
    backups = report["backups"]
    assert {k: backups[k] for k in ("count", "latest", "latest_verified", "broken")} == {
        "count": 1,
        "latest": name,
        "latest_verified": name,
        "broken": 0,
    }
    assert backups["last"]["name"] == name and backups["last"]["drill_passed"] is True
    assert backups["last"]["age_s"] >= 0


def test_sql_is_read_only_unless_write(settings: Settings) -> None:
    """`marketops sql "ALTER TABLE … DELETE"` used to run silently; now the server refuses it without --write."""
    assert runner.invoke(app, ["init"]).exit_code == 0
    made = runner.invoke(app, ["sql", "CREATE TABLE scratch (a UInt8) ENGINE = MergeTree ORDER BY a"])
    assert made.exit_code == 1 and "read-only" in made.output
    assert (
        runner.invoke(app, ["sql", "--write", "CREATE TABLE scratch (a UInt8) ENGINE = MergeTree ORDER BY a"]).exit_code
        == 0
    )
    assert runner.invoke(app, ["sql", "--write", "INSERT INTO scratch VALUES (1), (2)"]).exit_code == 0
    for statement in (
        "ALTER TABLE scratch DELETE WHERE 1",
        "INSERT INTO scratch SELECT 3",
        "INSERT INTO scratch VALUES (4);",
        "DROP TABLE scratch",
        "TRUNCATE TABLE scratch",
    ):
        refused = runner.invoke(app, ["sql", statement])
        assert refused.exit_code == 1, (statement, refused.output)
    count = runner.invoke(app, ["sql", "SELECT count() FROM scratch;"])
    assert count.exit_code == 0 and count.output.strip() == "2"
