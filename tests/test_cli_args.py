"""Bad arguments exit 2 at once with a plain message, before any store is changed or any flow run is created."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import Settings
from marketops.cli import app
from storage.backups.restore import shadow_database
from storage.warm import open_warehouse
from storage.warm.base import Warehouse
from storage.warm.schema import migrate
from tests.test_backup_safety import _june_july_snapshot, restore_snapshot

runner = CliRunner()


def _flow_runs() -> int:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.count_flow_runs()


@pytest.fixture
def warehouse(settings: Settings) -> Iterator[Warehouse]:
    with open_warehouse(settings) as wh:
        migrate(wh)
        yield wh


@pytest.mark.usefixtures("prefect_api")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "--since", "2024-06-10", "--until", "2024-06-01"], "--until 2024-06-01 is before --since"),
        (["validate", "--since", "2024-13-01"], "--since '2024-13-01' is not a date"),
        (["validate", "--until", "yesterday"], "--until 'yesterday' is not a date"),
        (["caches", "build", "--since", "2024/06/01"], "is not a date"),
        (["quarantine", "replay", "--since", "June"], "is not a date"),
        (["optimize", "--cutoff", "25:00"], "is not a time of day"),
        (["ingest", "{data}", "--format", "excel"], "unknown --format 'excel'"),
        (["ingest", "{data}", "--timezone", "Mars/Olympus"], "unknown --timezone 'Mars/Olympus'"),
        (["ingest", "{data}", "--date-order", "ydm"], "unknown --date-order"),
    ],
)
def test_a_bad_argument_exits_2_before_a_flow_run_is_created(
    settings: Settings, tmp_path: Path, args: list[str], message: str
) -> None:
    data = tmp_path / "landing"
    data.mkdir()
    before = _flow_runs()
    result = runner.invoke(app, [a.replace("{data}", str(data)) for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert _flow_runs() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sql", "SELECT 1", "--format", "xml"], "unknown --format 'xml'; use auto, table, csv or json"),
        (["restore", "NO_SUCH_BACKUP"], "no backup named 'NO_SUCH_BACKUP'"),
        (["restore", "full-x", "--into", "1shadow"], "--into '1shadow' is not a database name"),
        (["restore", "full-x", "--partition", "2024/06"], "--partition '2024/06' is not a partition id"),
        (["backups", "verify", "NO_SUCH_BACKUP"], "no backup named 'NO_SUCH_BACKUP'"),
    ],
)
def test_bad_names_and_formats_exit_2(settings: Settings, args: list[str], message: str) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "status: unknown" not in result.output


def test_restore_of_a_missing_backup_names_the_close_ones_and_an_unknown_table_exits_2(
    settings: Settings, warehouse: Warehouse
) -> None:
    _, name = _june_july_snapshot(settings, warehouse)
    warehouse.close()
    typo = runner.invoke(app, ["restore", name[:-1] + "X"])
    assert typo.exit_code == 2 and f"did you mean {name}?" in typo.output
    table = runner.invoke(app, ["restore", name, "--table", "bars_2m"])
    assert table.exit_code == 2 and "holds no table bars_2m" in table.output
    with open_warehouse(settings) as wh:  # nothing was restored anywhere
        assert wh.query_scalar("SELECT count() FROM system.databases WHERE name LIKE 'restore_%'") == 0


def test_the_default_restore_target_keeps_the_backup_names_case(settings: Settings, warehouse: Warehouse) -> None:
    target, name = _june_july_snapshot(settings, warehouse)
    assert name != name.lower()  # e.g. full-20240710T000000Z: T and Z are upper case
    result = restore_snapshot(warehouse, target, name, ["bars_1m"])
    assert result["into"] == shadow_database(name) == "restore_" + name.replace("-", "_")
    assert warehouse.query_scalar(f"SELECT count() FROM {result['into']}.bars_1m") == 200


def _command_paths() -> list[list[str]]:
    import typer.main

    root = typer.main.get_command(app)
    paths: list[list[str]] = [[]]
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        paths.append([name])
        paths.extend([name, sub] for sub in getattr(command, "commands", {}))
    return paths


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "marketops")
def test_every_command_and_subcommand_has_help(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_the_command_list_includes_doctor_and_every_group() -> None:
    assert {"doctor", "ingest", "validate", "restore", "status", "sql"} <= {p[0] for p in _command_paths() if p}
    assert ["backups", "verify"] in _command_paths() and ["caches", "build"] in _command_paths()
