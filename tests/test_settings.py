"""One settings object: env vars over marketops.toml over defaults; one home holds all state."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import load_settings


def test_env_overrides_toml_and_toml_overrides_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "marketops.toml"
    config.write_text('home = "/tmp/from-toml"\ningest_workers = 3\nhazelcast_members = ["10.0.0.1:5701"]\n')
    monkeypatch.setenv("MARKETOPS_CONFIG_FILE", str(config))
    monkeypatch.delenv("MARKETOPS_HOME", raising=False)
    settings = load_settings()
    assert settings.home == Path("/tmp/from-toml") and settings.ingest_workers == 3
    assert settings.hot_backend == "hazelcast"
    monkeypatch.setenv("MARKETOPS_INGEST_WORKERS", "5")
    monkeypatch.setenv("MARKETOPS_LANDING_PATHS", "/a,/b")
    settings = load_settings()
    assert settings.ingest_workers == 5 and settings.landing_paths == [Path("/a"), Path("/b")]


def test_every_embedded_location_lives_under_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETOPS_HOME", str(tmp_path / "h"))
    settings = load_settings()
    for location in (
        settings.warehouse_dir,
        settings.backups_dir,
        settings.cold_dir,
        settings.hot_path,
        settings.alerts_log,
        settings.prefect_home,
    ):
        assert settings.home_dir in location.parents
    assert settings.warm_backend == "chdb"


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValidationError):
        settings.ingest_workers = 9


def test_secrets_do_not_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETOPS_CLICKHOUSE_PASSWORD", "hunter2")
    assert "hunter2" not in repr(load_settings())
