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


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3-API server (moto in server mode) on 127.0.0.1, started once for the session."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


S3_TEST_SECRET = "test-secret-never-logged-7d1f"


@pytest.fixture
def s3_settings(settings: Settings, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """``settings`` with the cold tier in a fresh bucket of the local S3-API server (env set for flows too)."""
    import boto3

    bucket = f"cold-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test-key",
        aws_secret_access_key=S3_TEST_SECRET,
    ).create_bucket(Bucket=bucket)
    env = {
        "MARKETOPS_COLD_URL": f"s3://{bucket}/marketops/cold",
        "MARKETOPS_COLD_S3_ENDPOINT_URL": s3_endpoint,
        "MARKETOPS_COLD_S3_REGION": "us-east-1",
        "MARKETOPS_COLD_S3_ACCESS_KEY_ID": "test-key",
        "MARKETOPS_COLD_S3_SECRET_ACCESS_KEY": S3_TEST_SECRET,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings()
