"""`marketops up` against a real Prefect server: every deployment registered with its schedule, the UI
shows them in headless Chromium, a deployment run completes through the worker, `down` stops it all."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from deployments.catalogue import load_catalogue
from deployments.local_stack import alive, read_stack
from tests.browser import CHROMIUM, headless

MARKETOPS = str(Path(sys.executable).with_name("marketops"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _chromium(url: str, tmp: Path, *mode: str) -> str:
    args = [
        *headless(tmp / "chromium-profile"),
        "--window-size=1400,900",
        "--virtual-time-budget=20000",
        *mode,
        url,
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (the README test command installs Debian's chromium)"
)
def test_up_deploys_everything_the_ui_shows_it_and_down_stops_it(settings: Settings, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    port = _free_port()
    env["MARKETOPS_REPORTS_PORT"] = str(_free_port())
    started = subprocess.run(
        [MARKETOPS, "up", "--port", str(port)], env=env, capture_output=True, text=True, timeout=400
    )
    assert started.returncode == 0, started.stdout + started.stderr
    info = read_stack(settings)
    assert info is not None and alive(info.server_pid) and alive(info.worker_pid)
    try:
        api = info.api_url
        deployed = {
            d["name"]: d for d in httpx.post(f"{api}/deployments/filter", json={"limit": 100}, timeout=10).json()
        }
        for entry in load_catalogue():
            assert entry.name in deployed, entry.name
            crons = sorted(s["schedule"]["cron"] for s in deployed[entry.name]["schedules"])
            assert crons == sorted(s["cron"] for s in entry.schedules), entry.name
            assert all(s["schedule"]["timezone"] == "UTC" for s in deployed[entry.name]["schedules"])
            assert deployed[entry.name]["work_pool_name"] == "marketops-process"

        screenshot = tmp_path / "deployments.png"
        _chromium(f"{info.ui_url}/deployments", tmp_path, f"--screenshot={screenshot}")
        assert screenshot.stat().st_size > 20_000  # a rendered page, not a blank one
        dom = _chromium(f"{info.ui_url}/deployments", tmp_path, "--dump-dom")
        for entry in load_catalogue():
            assert f">{entry.name}<" in dom.replace(" ", "").replace("\n", ""), (
                f"{entry.name} not on the deployments page"
            )

        # a run triggered on the deployment is picked up by the worker and completes
        daily = deployed["daily"]["id"]
        run = httpx.post(f"{api}/deployments/{daily}/create_flow_run", json={}, timeout=10).json()
        deadline = time.monotonic() + 240
        state = None
        while time.monotonic() < deadline:
            state = httpx.get(f"{api}/flow_runs/{run['id']}", timeout=10).json()["state_type"]
            if state in {"COMPLETED", "FAILED", "CRASHED"}:
                break
            time.sleep(2)
        assert state == "COMPLETED"

        # the report of that run opens over http:// from the artifact (the UI cannot open file:// links)
        assert info.reports_url and httpx.get(info.reports_url, timeout=10).status_code == 200
        artifacts = httpx.post(
            f"{api}/artifacts/filter",
            json={"artifacts": {"key": {"any_": ["validate-report"]}}, "sort": "CREATED_DESC", "limit": 1},
            timeout=10,
        ).json()
        link = re.search(r"\((http://127\.0\.0\.1:\d+/[^)]+)\)", artifacts[0]["data"])
        assert link is not None, artifacts[0]["data"]
        report = httpx.get(link.group(1), timeout=10)
        assert report.status_code == 200 and "<html" in report.text.lower()

        # lineage: the self-hosted UI has no asset pages; a materialization shows on its event page with the
        # assets it was built from (the daily run's caches flow wrote the cold catalog from the cold datasets)
        built = None
        deadline = time.monotonic() + 60
        while built is None and time.monotonic() < deadline:
            materialized = httpx.post(
                f"{api}/events/filter",
                json={"filter": {"event": {"name": ["prefect.asset.materialization.succeeded"]}}, "limit": 50},
                timeout=10,
            ).json()["events"]
            built = next(
                (e for e in materialized if any(r["prefect.resource.role"] == "asset" for r in e["related"])), None
            )
            time.sleep(0 if built else 2)
        assert built is not None, "no asset materialization event"
        source = next(r["prefect.resource.id"] for r in built["related"] if r["prefect.resource.role"] == "asset")
        page = f"{info.ui_url}/events/event/{built['occurred'][:10]}/{built['id']}"
        shot = tmp_path / "asset-materialization.png"
        _chromium(page, tmp_path, f"--screenshot={shot}")
        assert shot.stat().st_size > 20_000
        dom = _chromium(page, tmp_path, "--dump-dom")
        assert "Asset materialization succeeded" in dom
        assert built["resource"]["prefect.resource.id"] in dom and source in dom

        # every trigger of prefect.yaml became an automation
        automations = httpx.post(f"{api}/automations/filter", json={}, timeout=10).json()
        assert len(automations) == sum(len(e.triggers) for e in load_catalogue())
        status = subprocess.run([MARKETOPS, "status", "--json"], env=env, capture_output=True, text=True, timeout=120)
        assert status.returncode == 0, status.stdout + status.stderr
        orchestration = json.loads(status.stdout)["orchestration"]
        daily_status = orchestration["deployments"]["daily"]
        assert daily_status["schedules"] == [] and daily_status["last_finished"]["state"] == "COMPLETED"
        assert daily_status["last_finished"]["end"] and daily_status["next_scheduled"] is None
        assert orchestration["flows"]["daily"]["last_finished"]["state"] == "COMPLETED"
    finally:
        stopped = subprocess.run([MARKETOPS, "down"], env=env, capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 0
    assert not alive(info.server_pid) and not alive(info.worker_pid) and not alive(info.reports_pid)
    assert read_stack(settings) is None
