"""`marketops up --workers 2`: two Prefect workers poll the pool, and the ingest deployment still runs one at a time
(its concurrency limit lives on the server, so it holds across workers and hosts)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from deployments.local_stack import WORK_POOL, alive, read_stack, worker_name
from tests.test_local_stack import CHROMIUM, _chromium, _free_port

MARKETOPS = str(Path(sys.executable).with_name("marketops"))


def _wait(check: object, timeout_s: float, what: str) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()  # type: ignore[operator]
        if value:
            return value
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_workers_poll_the_pool_and_ingest_still_runs_one_at_a_time(settings: Settings, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    port = _free_port()
    env["MARKETOPS_REPORTS_PORT"] = str(_free_port())  # never the default port another stack may hold
    started = subprocess.run(
        [MARKETOPS, "up", "--port", str(port), "--workers", "2"], env=env, capture_output=True, text=True, timeout=400
    )
    assert started.returncode == 0, started.stdout + started.stderr
    info = read_stack(settings)
    assert info is not None and len(info.workers) == 2 and all(alive(pid) for pid in info.workers)
    try:
        api = info.api_url

        def online() -> set[str]:
            rows = httpx.post(f"{api}/work_pools/{WORK_POOL}/workers/filter", json={}, timeout=10).json()
            names = {w["name"] for w in rows if w.get("status") == "ONLINE"}
            return names if names >= {worker_name(1), worker_name(2)} else set()

        assert _wait(online, 120, "two online workers") == {worker_name(1), worker_name(2)}
        if CHROMIUM is not None:  # what a person sees: both workers on the pool's page
            dom = _chromium(f"{info.ui_url}/work-pools/work-pool/{WORK_POOL}?tab=Workers", tmp_path, "--dump-dom")
            assert worker_name(1) in dom and worker_name(2) in dom

        deployments = httpx.post(f"{api}/deployments/filter", json={"limit": 100}, timeout=10).json()
        ingest = next(d for d in deployments if d["name"] == "ingest")
        assert ingest["global_concurrency_limit"]["limit"] == 1  # a server-side limit, not a worker's
        runs = [
            httpx.post(f"{api}/deployments/{ingest['id']}/create_flow_run", json={}, timeout=10).json()["id"]
            for _ in range(2)
        ]
        seen: dict[str, set[str]] = {run: set() for run in runs}

        def finished() -> list[dict[str, object]]:
            states = [httpx.get(f"{api}/flow_runs/{run}", timeout=10).json() for run in runs]
            for state in states:
                seen[str(state["id"])].add(str(state["state_name"]))
            terminal = all(s["state_type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} for s in states)
            return states if terminal else []

        states = _wait(finished, 400, "both ingest runs")
        assert isinstance(states, list)
        assert [s["state_type"] for s in states] == ["COMPLETED", "COMPLETED"], [s["state_name"] for s in states]
        first, second = sorted(
            (
                (datetime.fromisoformat(str(s["start_time"])), datetime.fromisoformat(str(s["end_time"])))
                for s in states
            ),
        )
        assert first[1] <= second[0], f"ingest runs overlapped: {first} vs {second}"
    finally:
        stopped = subprocess.run([MARKETOPS, "down"], env=env, capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 0
    assert not any(alive(pid) for pid in [*info.workers, info.server_pid])


@pytest.mark.parametrize("workers", [0])
def test_up_refuses_zero_workers(settings: Settings, workers: int) -> None:
    from deployments.local_stack import StackError, up

    with pytest.raises(StackError):
        up(settings, _free_port(), workers=workers)
