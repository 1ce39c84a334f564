"""Shared fixtures: one Prefect test API per session, a fresh MARKETOPS_HOME per test.

Telemetry is switched off before Prefect is imported anywhere in the test process.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import pytest

from core.settings import Settings, load_settings

REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """A real Prefect API (temporary server + database), started once for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for a fresh home; flows that read settings themselves see the same env."""
    monkeypatch.setenv("MARKETOPS_HOME", str(tmp_path / "home"))
    # On a real server each test gets its own database so tests never see each other's rows.
    monkeypatch.setenv("MARKETOPS_CLICKHOUSE_DATABASE", f"test_{uuid.uuid4().hex[:12]}")
    monkeypatch.setenv("MARKETOPS_CHDB_LOCK_TIMEOUT_S", "5")
    return load_settings()


@pytest.fixture
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"shared real samples not present at {REAL_DATA}")
    return REAL_DATA
