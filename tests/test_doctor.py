"""`marketops doctor`: a fresh home passes (OK/WARN, exit 0); a broken setting, an unreachable Prefect API FAIL
(exit 1) with a fix hint; a warehouse held by another user is a WARN naming the holder."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from core.settings import Settings
from marketops.cli import app
from storage.warm import open_warehouse

runner = CliRunner()
NAMES = {"python", "settings", "warehouse", "cold store", "hot store", "prefect api", "disk"}


def _doctor() -> tuple[int, dict[str, dict[str, str]], str]:
    as_json = runner.invoke(app, ["doctor", "--json"])
    human = runner.invoke(app, ["doctor"])
    assert as_json.exit_code == human.exit_code
    parsed = json.loads(as_json.stdout)
    return as_json.exit_code, {c["name"]: c for c in parsed["checks"]}, human.stdout


def test_a_fresh_home_is_ready(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    code, checks, human = _doctor()
    assert code == 0, checks
    assert NAMES <= set(checks) and {"engine polars", "engine duckdb", "engine pyarrow"} <= set(checks)
    assert {c["status"] for c in checks.values()} <= {"OK", "WARN"}
    assert "a background server will be started" in checks["prefect api"]["detail"]
    assert str(settings.home_dir) in checks["settings"]["detail"]
    assert "marketops doctor" in human and "checks, 0 failed" in human
    assert not settings.home_dir.exists() or not any(settings.home_dir.rglob(".marketops-doctor-*"))


def test_a_broken_setting_fails_with_a_hint(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETOPS_INGEST_WORKERS", "many")
    code, checks, human = _doctor()
    assert code == 1
    assert checks["settings"]["status"] == "FAIL" and "ingest_workers" in checks["settings"]["detail"]
    assert "MARKETOPS_" in checks["settings"]["fix"]
    assert "FAIL" in human


def test_an_unreachable_prefect_api_fails(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    code, checks, _ = _doctor()
    assert code == 1 and checks["prefect api"]["status"] == "FAIL"
    assert "unset PREFECT_API_URL" in checks["prefect api"]["fix"]


def test_a_warehouse_in_use_is_a_warning_naming_the_holder(settings: Settings) -> None:
    if settings.clickhouse_url:
        pytest.skip("the embedded warehouse's lock only")
    with open_warehouse(settings):
        _, checks, _ = _doctor()
    assert checks["warehouse"]["status"] == "WARN" and "in use by pid" in checks["warehouse"]["detail"]
