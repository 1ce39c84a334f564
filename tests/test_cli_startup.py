"""What an ad-hoc command pays before and after its work: lazy imports, the collector, Prefect's heartbeat.

Speed itself is shown by ``bench/adhoc.py``; these tests pin the behaviour that speed rests on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.settings import Settings
from marketops.prefect_env import HEARTBEAT_VARIABLES, foreground_run

ROOT = Path(__file__).resolve().parents[1]

# Modules that only some commands need: a command that does not use them must not pay for importing them.
HEAVY = ("prefect", "pandas", "pandera", "great_expectations", "plotly", "chdb", "clickhouse_connect", "duckdb")

RUN_AND_LIST_MODULES = textwrap.dedent(
    """
    import atexit, json, sys
    heavy = {heavy!r}
    atexit.register(lambda: sys.stderr.write("MODULES " + json.dumps([m for m in heavy if m in sys.modules]) + "\\n"))
    sys.argv = ["marketops", *{args!r}]
    import runpy
    runpy.run_module("marketops", run_name="__main__")
    """
)


def _modules_after(args: list[str]) -> list[str]:
    code = RUN_AND_LIST_MODULES.format(heavy=HEAVY, args=args)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")} | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    line = next((x for x in done.stderr.splitlines() if x.startswith("MODULES ")), None)
    assert line is not None, done.stdout + done.stderr
    return list(json.loads(line.removeprefix("MODULES ")))


def test_importing_the_cli_loads_no_heavy_module() -> None:
    code = f"import sys, marketops.cli; print([m for m in {HEAVY!r} if m in sys.modules])"
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_repeated_status_loads_no_heavy_module(settings: Settings) -> None:
    """The first status opens the warehouse (chDB); the next reuses its snapshot and imports none of them."""
    assert "chdb" in _modules_after(["status", "--json"])
    assert _modules_after(["status", "--json"]) == []


STARTUP = textwrap.dedent(
    """
    import gc
    from marketops import startup
    startup.end_command()
    startup.begin_work()
    untouched = gc.isenabled() and gc.get_freeze_count() == 0  # a process that only imports the CLI
    startup.begin_command()
    importing = gc.isenabled()
    startup.begin_work()
    working = gc.isenabled() and gc.get_freeze_count() > 0
    startup.end_command()
    print(untouched, importing, working)
    """
)


def test_a_command_collects_nothing_while_it_imports_and_collects_again_when_its_flow_works() -> None:
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", STARTUP], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False", "True"]


DUCKDB_COMMAND = textwrap.dedent(
    """
    from marketops import startup
    startup.begin_command()
    import duckdb
    connection = duckdb.connect()
    connection.sql("SELECT 42 AS answer").fetchall()
    startup.begin_work()
    connection.close()
    startup.end_command()
    print("done")
    """
)


def test_a_command_that_used_duckdb_exits_without_a_leak_report() -> None:
    """Objects frozen for the collector are left to the OS at exit; DuckDB's bindings (nanobind) then print a
    page of "leaked instance" lines (seen at the end of `marketops demo`). Such a command unfreezes at its end."""
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", DUCKDB_COMMAND], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["done"]
    assert "leaked" not in done.stderr, done.stderr[:2000]


def test_a_foreground_run_has_no_heartbeat_unless_one_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import get_current_settings

    for name in HEARTBEAT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    default = get_current_settings().flows.heartbeat_frequency
    with foreground_run():
        assert get_current_settings().flows.heartbeat_frequency is None
    assert get_current_settings().flows.heartbeat_frequency == default
    monkeypatch.setenv("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "60")  # the user's choice stands
    with foreground_run():
        assert get_current_settings().flows.heartbeat_frequency == default


@pytest.mark.usefixtures("prefect_api", "settings")
def test_a_flow_run_by_a_command_sends_no_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect import flow
    from prefect.settings import get_current_settings

    from marketops.cli import _run_flow

    for name in HEARTBEAT_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    @flow(name="heartbeat-probe")
    def probe() -> dict[str, object]:
        return {"heartbeat": get_current_settings().flows.heartbeat_frequency}

    assert _run_flow(probe, progress_bar=False) == {"heartbeat": None}
