"""`marketops status` reuses what it read from the embedded warm tier only while the warehouse is unchanged,
and recomputes everything time-relative against the current time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import Settings
from marketops.cli import app
from marketops.status import quarantine_section
from storage.status_snapshot import fingerprint
from storage.warm import open_warehouse
from storage.warm.schema import migrate
from tests.warm_helpers import bars_frame

runner = CliRunner()


@pytest.fixture(autouse=True)
def _prefect_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)


def _insert(settings: Settings, start: datetime, n: int) -> None:
    frame = bars_frame(
        {
            "venue": "binance",
            "symbol": "BTCUSDT",
            "ts": [start + timedelta(minutes=i) for i in range(n)],
            "open": 100.0,
            "high": 101.0,
            "low": 99.0,
            "close": 100.5,
            "volume": 1.0,
            "trades": 1,
            "quote_volume": 1.0,
            "source_id": 1,
            "version": 1,
        }
    )
    with open_warehouse(settings) as wh:
        migrate(wh)
        wh.insert_df("bars_1m", frame)


def _status() -> dict:
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.splitlines()[0])


def test_status_reuses_the_warm_figures_until_the_warehouse_changes(settings: Settings) -> None:
    start = datetime(2024, 6, 3, tzinfo=UTC)
    _insert(settings, start, 60)
    first = _status()
    assert first["warm_read"]["reused_snapshot"] is False and first["warm"]["bars"] == 60
    second = _status()
    assert second["warm_read"] == {"reused_snapshot": True, "taken_at": first["warm_read"]["taken_at"]}
    for section in ("warm", "ingest", "validation", "maintenance", "backups", "recorded_runs"):
        assert second[section] == first[section], section
    btc = second["freshness"]["symbols"]["binance:BTCUSDT"]
    assert btc["newest_bar"] == first["freshness"]["symbols"]["binance:BTCUSDT"]["newest_bar"]
    assert btc["age_s"] >= first["freshness"]["symbols"]["binance:BTCUSDT"]["age_s"]  # aged against now
    assert second["quarantine_24h"]["since"] > first["quarantine_24h"]["since"]  # the window moved with now

    before = fingerprint(settings)
    _insert(settings, start + timedelta(hours=1), 30)  # the warehouse changes: the snapshot no longer applies
    assert fingerprint(settings) != before
    third = _status()
    assert third["warm_read"]["reused_snapshot"] is False and third["warm"]["bars"] == 90
    assert third["freshness"]["symbols"]["binance:BTCUSDT"]["newest_bar"].startswith("2024-06-03T01:29")


def test_a_warehouse_server_is_always_asked(settings: Settings) -> None:
    assert fingerprint(settings.model_copy(update={"clickhouse_url": "http://127.0.0.1:1"})) is None


def test_the_quarantine_window_is_counted_from_the_raw_events_at_any_later_time() -> None:
    now = datetime(2024, 6, 4, 12, tzinfo=UTC)
    events = [
        [(now - timedelta(hours=30)).isoformat(), "quarantined", 0],
        [(now - timedelta(hours=20)).isoformat(), "partial", 4],
        [(now - timedelta(hours=2)).isoformat(), "quarantined", 0],
        [(now - timedelta(hours=1)).isoformat(), "failed", 0],
    ]
    assert quarantine_section(events, now - timedelta(hours=24)) == {
        "since": (now - timedelta(hours=24)).isoformat(),
        "files_quarantined": 1,
        "files_partial": 1,
        "files_failed": 1,
        "rows_quarantined": 4,
    }
    assert quarantine_section(events, now - timedelta(hours=10))["files_partial"] == 0
