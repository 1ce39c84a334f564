"""Events, triggers and lineage through a real Prefect server.

The deployments of prefect.yaml are registered with their triggers (as `prefect deploy` does), a real
ingest emits ``marketops.ingest.loaded``, the server's automations create the validate and warmup runs
with the touched days as parameters, those runs execute, and the asset events they and a cache build
leave behind read raw files -> warm bars -> cold caches -> hot maps.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from pydantic import TypeAdapter

from core import events
from core.lineage import cold_dataset, file_uri, hot_map, warm_table
from core.samples import InjectionManifest, SampleSpec, generate
from core.settings import Settings
from deployments.catalogue import load_catalogue, load_flow
from storage.landing import write_file


def _touched(rows: list[tuple[str, str, datetime | None, datetime | None, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "venue": pl.String,
            "symbol": pl.String,
            "first_ts": pl.Datetime("ms", "UTC"),
            "last_ts": pl.Datetime("ms", "UTC"),
            "rows_loaded": pl.UInt64,
        },
        orient="row",
    )


def test_ingest_loaded_lists_every_day_a_file_spans_and_the_range_to_validate() -> None:
    touched = _touched(
        [
            ("binance", "BTCUSDT", datetime(2024, 6, 3, tzinfo=UTC), datetime(2024, 6, 5, 23, 59, tzinfo=UTC), 4320),
            ("histdata", "EURUSD", datetime(2024, 6, 4, tzinfo=UTC), datetime(2024, 6, 4, 12, tzinfo=UTC), 720),
            ("binance", "ETHUSDT", None, None, 0),  # quarantined whole: touched nothing
        ]
    )
    event = events.ingest_loaded(touched, "w1", chained=False, run_id="r1")
    assert event is not None and event.event == events.INGEST_LOADED
    assert event.payload["since"] == "2024-06-03" and event.payload["until"] == "2024-06-05"
    assert event.payload["days"] == ["2024-06-03", "2024-06-04", "2024-06-05"]
    assert event.payload["symbols"] == ["binance:BTCUSDT", "histdata:EURUSD"] and event.payload["rows_loaded"] == 5040
    assert event.resource["prefect.resource.id"] == "marketops.ingest.w1"
    assert event.resource[events.LABEL_CHAINED] == "false"
    assert events.ingest_loaded(touched.filter(pl.col("rows_loaded") == 0), "w1", False, "r1") is None


def test_breach_drill_and_stale_events_only_when_something_happened() -> None:
    assert events.dq_breach({"breach": False}, "w1", None) is None
    breach = events.dq_breach({"breach": True, "first": "2024-06-03", "last": "2024-06-04"}, "w1", "http://x/r.html")
    assert (
        breach is not None and breach.payload["since"] == "2024-06-03" and breach.payload["report"] == "http://x/r.html"
    )
    snapshot = {"name": "incremental-1", "kind": "incremental", "base": "full-1", "rows": 1, "size_bytes": 2}
    failed = events.backup_drill(snapshot, {"verified": False, "detail": "base gone"}, "w1")
    assert failed is not None and failed.event == events.BACKUP_DRILL_FAILED
    assert failed.resource[events.LABEL_BACKUP_KIND] == "incremental"
    verified = events.backup_drill(snapshot, {"verified": True, "detail": "ok"}, "w1")
    assert verified is not None and verified.event == events.BACKUP_VERIFIED
    assert events.backup_drill(snapshot, {"verified": None, "detail": "skipped"}, "w1") is None
    assert events.hot_stale([], "auto", True, "w1") is None
    stale = events.hot_stale(["no epoch pointer"], "check", False, "w1")
    assert stale is not None and stale.resource[events.LABEL_HOT_REBUILDING] == "false"


def test_every_trigger_in_prefect_yaml_is_a_valid_deployment_trigger_on_a_marketops_event() -> None:
    from prefect.events.schemas.deployment_triggers import DeploymentTriggerTypes

    triggers = [(entry, t) for entry in load_catalogue() for t in entry.triggers]
    assert {entry.name for entry, _ in triggers} >= {"validate", "warmup", "backup"}
    for entry, raw in triggers:
        trigger = TypeAdapter(DeploymentTriggerTypes).validate_python(raw)
        assert set(trigger.expect) <= set(events.ALL_EVENTS), entry.name  # type: ignore[union-attr]
        assert entry.schedules or entry.name == "warmup", f"{entry.name}: cron stays as the safety net"


# --- through a real server ------------------------------------------------------------------------------


def _api() -> str:
    from prefect.settings import PREFECT_API_URL

    return str(PREFECT_API_URL.value()).rstrip("/")


def _deploy(names: set[str]) -> dict[str, str]:
    """Register prefect.yaml's deployments ``names`` with their triggers (what `prefect deploy` does)."""
    from prefect.events.schemas.deployment_triggers import DeploymentTriggerTypes

    ids = {}
    for entry in load_catalogue():
        if entry.name not in names:
            continue
        flow = load_flow(entry)
        triggers = [TypeAdapter(DeploymentTriggerTypes).validate_python(t) for t in entry.triggers]
        deployment = flow.to_deployment(name=entry.name, parameters=entry.parameters, triggers=triggers)
        ids[entry.name] = str(deployment.apply())
    return ids


def _undeploy(ids: dict[str, str]) -> None:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        for deployment_id in ids.values():
            client.delete_resource_owned_automations(f"prefect.deployment.{deployment_id}")
            client.delete_deployment(deployment_id)  # type: ignore[arg-type]


def _runs_of(deployment_id: str, expected: int = 1, timeout_s: float = 90) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        runs = httpx.post(
            f"{_api()}/flow_runs/filter",
            json={"flow_runs": {"deployment_id": {"any_": [deployment_id]}}, "sort": "EXPECTED_START_TIME_ASC"},
            timeout=10,
        ).json()
        if len(runs) >= expected:
            return runs
        time.sleep(1)
    return runs


def _events(prefix: str, since: datetime, expected: int = 1, timeout_s: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        body = {
            "filter": {"event": {"prefix": [prefix]}, "occurred": {"since": since.isoformat()}, "order": "ASC"},
            "limit": 50,  # the server's page size
        }
        page = httpx.post(f"{_api()}/events/filter", json=body, timeout=10).json()
        found = page["events"]
        while page.get("next_page"):
            page = httpx.get(page["next_page"], timeout=10).json()
            found += page["events"]
        if len(found) >= expected:
            return found
        time.sleep(1)
    return found


def _execute(deployment_name: str, run: dict[str, Any]) -> Any:
    """Run a flow run the server created (as a worker would, in this process)."""
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow

    entry = next(e for e in load_catalogue() if e.name == deployment_name)
    flow = load_flow(entry)
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(run["id"])
    return run_flow(flow, flow_run=flow_run, parameters=flow.validate_parameters(run["parameters"]))


@pytest.mark.usefixtures("prefect_api")
def test_an_ingest_event_triggers_validate_and_warmup_and_assets_chain_raw_warm_cold_hot(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.caches import caches
    from flows.ingest import ingest
    from flows.warmup import warmup

    monkeypatch.setenv("MARKETOPS_DQ_PASS_RATE_THRESHOLD", "1.0")  # the planted anomalies make it a breach
    landing = settings.samples_dir / "landing"
    for sample in generate(SampleSpec(symbols=2, days=2, fx_share=0), InjectionManifest()):
        write_file(landing, sample.relative_path, sample.data)
    started = datetime.now(UTC)
    ids = _deploy({"validate", "warmup", "backup"})  # warmup: the ingest updates the hot keys itself, no run
    try:
        time.sleep(2)  # the trigger service loads new automations periodically
        summary = ingest(paths=[str(landing)])
        assert summary["rows_loaded"] > 0

        loaded = _events(events.INGEST_LOADED, started)
        assert len(loaded) == 1
        payload = loaded[0]["payload"]
        assert (payload["since"], payload["until"]) == ("2024-06-03", "2024-06-04")
        assert payload["symbol_count"] == 2 and payload["rows_loaded"] == summary["rows_loaded"]
        assert any(r["prefect.resource.role"] == "flow-run" for r in loaded[0]["related"])

        validate_runs = _runs_of(ids["validate"])
        assert len(validate_runs) == 1
        assert validate_runs[0]["parameters"] == {"since": "2024-06-03", "until": "2024-06-04", "report": True}

        validated = _execute("validate", validate_runs[0])
        assert (validated["first"], validated["last"]) == ("2024-06-03", "2024-06-04") and validated["breach"]
        breach = _events(events.DQ_BREACH, started)
        assert len(breach) == 1 and breach[0]["payload"]["since"] == "2024-06-03"
        assert any(
            r["prefect.resource.id"] == f"prefect.flow-run.{validate_runs[0]['id']}" for r in breach[0]["related"]
        )

        # no reports server in this test: the report link is file:// and the artifact says why
        artifact = httpx.post(
            f"{_api()}/artifacts/filter",
            json={
                "artifacts": {"key": {"any_": ["validate-report"]}, "flow_run_id": {"any_": [validate_runs[0]["id"]]}}
            },
            timeout=10,
        ).json()[0]
        assert "(file:///" in artifact["data"] and "no reports server is running" in artifact["description"]

        caches()
        assert warmup(mode="force", rebuild=True)["status"] == "rebuilt"
        assert httpx.get(f"{_api()}/flow_runs/{validate_runs[0]['id']}", timeout=10).json()["state_type"] == "COMPLETED"
        assert _runs_of(ids["warmup"], timeout_s=1) == []  # an ingest never starts a full rebuild

        # lineage: every materialization names what it was built from
        hot_latest = hot_map(settings, "bars_latest_1m")
        built_from: dict[str, set[str]] = {}
        deadline = time.monotonic() + 60
        while hot_latest not in built_from and time.monotonic() < deadline:  # the newest events persist last
            built_from = {}
            for event in _events("prefect.asset.materialization.succeeded", started, expected=5):
                upstream = {r["prefect.resource.id"] for r in event["related"] if r["prefect.resource.role"] == "asset"}
                built_from.setdefault(event["resource"]["prefect.resource.id"], set()).update(upstream)
            time.sleep(0 if hot_latest in built_from else 2)
        warm_bars = warm_table(settings, "bars_1m")
        assert file_uri(landing) in built_from[warm_bars]
        assert warm_bars in built_from[cold_dataset(settings, "bars_1m")]
        assert warm_bars in built_from[warm_table(settings, "anomalies")]
        assert {warm_bars, cold_dataset(settings, "features_1m")} <= built_from[hot_latest]
    finally:
        _undeploy(ids)


@pytest.mark.usefixtures("prefect_api")
def test_a_failed_incremental_drill_triggers_a_full_backup_and_stale_hot_a_warmup_without_loops(
    settings: Settings,
) -> None:
    from prefect import flow

    from flows.events import backup_drill, hot_stale

    @flow(name="drill-reporter")
    def report_drill(kind: str) -> None:
        backup_drill(settings, {"name": f"{kind}-1", "kind": kind, "base": None}, {"verified": False, "detail": "x"})

    @flow(name="hot-checker")
    def report_stale(rebuilding: bool) -> None:
        hot_stale(settings, ["no epoch pointer"], "auto" if rebuilding else "check", rebuilding)

    ids = _deploy({"backup", "warmup"})
    try:
        time.sleep(2)
        started = datetime.now(UTC)
        report_drill("full")  # a full chain that fails its drill must not start another full backup (a loop)
        report_drill("incremental")
        report_stale(True)  # warmup-check rebuilds by itself: no second warmup
        report_stale(False)  # a check-only run found the hole: warm now
        failed = _events(events.BACKUP_DRILL_FAILED, started, expected=2)
        assert [e["resource"][events.LABEL_BACKUP_KIND] for e in failed] == ["full", "incremental"]
        assert len(_events(events.HOT_STALE, started, expected=2)) == 2
        _runs_of(ids["backup"])
        _runs_of(ids["warmup"])
        time.sleep(5)  # give a (wrong) second trigger time to fire
        backups, warmups = _runs_of(ids["backup"]), _runs_of(ids["warmup"])
        assert len(backups) == 1 and backups[0]["parameters"] == {"full": True, "verify": True, "prune": False}
        assert len(warmups) == 1 and warmups[0]["parameters"] == {"mode": "force"}
    finally:
        _undeploy(ids)


def test_lineage_uris_are_stable_and_name_the_store(settings: Settings) -> None:
    assert warm_table(settings, "bars_1m") == f"clickhouse://{settings.clickhouse_database}/bars_1m"
    assert cold_dataset(settings, "bars_5m") == (settings.cold_dir / "bars_5m").resolve().as_uri()
    assert hot_map(settings, "bars_latest_1m") == f"sqlite://{settings.hot_path.resolve().as_posix()}/bars_latest_1m"


def test_asset_keys_of_awkward_paths_are_keys_prefect_accepts_and_stay_distinct(tmp_path: Path) -> None:
    from prefect.assets import Asset

    from core.lineage import asset_key, file_uri

    awkward = [tmp_path / "venue=binance" / "a b#1", tmp_path / "100%", tmp_path / "q?x&y", tmp_path / ("d" * 600)]
    keys = [file_uri(p) for p in awkward]
    for key in keys:
        assert Asset(key=key).key == key and len(key) <= 512
    assert len(set(keys)) == len(keys) and keys == [file_uri(p) for p in awkward]  # distinct and stable
    assert file_uri(tmp_path / "plain") == (tmp_path / "plain").resolve().as_uri()  # plain paths read as before
    assert asset_key("file", "/a b") != asset_key("file", "/a_b")  # a replaced character never makes two paths one


@pytest.mark.usefixtures("prefect_api")
def test_an_ingest_from_a_landing_folder_with_spaces_and_hive_keys_loads(settings: Settings, tmp_path: Path) -> None:
    """A landing path's asset key once failed the batch task ("Asset key cannot contain '%'"): nothing loaded."""
    from flows.ingest import ingest
    from tests.hostile import klines

    landing = tmp_path / "vendor drop #2" / "venue=binance"
    landing.mkdir(parents=True)
    (landing / "BTCUSDT-1m-2024-01-02.csv").write_text("\n".join(klines(1_704_153_600_000, 30)) + "\n")
    summary = ingest(paths=[str(landing)])
    assert summary["files_loaded"] == 1 and summary["rows_loaded"] == 30, summary
