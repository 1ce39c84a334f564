"""Alerts fold on a stable fingerprint, a failed delivery leaves the window open, recovery is announced,
and a run killed outright still ends CRASHED and alerts (real HTTP listener, real Prefect API)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from prefect.client.schemas.objects import FlowRun

from core.alerts import FLOW_FAILED, RESOLVED, Alert
from core.settings import load_settings
from storage.alerts import AlertLog
from tests.test_alerts import Listener, _free_port

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def listener() -> object:
    server = Listener()
    yield server
    server.close()


def test_a_warehouse_outage_has_one_fingerprint_whatever_its_query_id() -> None:
    """The fold key used to hold the raw message, query id and timings included: every run paged."""
    messages = [
        "TransientStorageError: warehouse query failed: Code: 209. DB::NetException: Timeout: connect timed out: "
        "10.0.3.7:9000 (query_id 6b1f0e52-2a8e-4bd1-9d43-0c6b0d2f8a11) at 2026-11-30 20:15:02.118 after 10.004 s",
        "TransientStorageError: warehouse query failed: Code: 209. DB::NetException: Timeout: connect timed out: "
        "10.0.3.7:9000 (query_id 0e77a9d3-61c2-4f3e-a0a5-93c1d40b7e5f) at 2026-11-30 20:30:01.907 after 10.012 s",
    ]
    one, two = (
        Alert(
            kind=FLOW_FAILED,
            title="t",
            summary=m,
            flow="ingest",
            deployment="ingest",
            error_class="TransientStorageError",
            flow_run_id=str(i),
        )
        for i, m in enumerate(messages)
    )
    assert one.fingerprint() == two.fingerprint()
    other_flow = Alert(kind=FLOW_FAILED, title="t", summary=messages[0], flow="validate", deployment="validate")
    other_class = Alert(
        kind=FLOW_FAILED, title="t", summary=messages[0], flow="ingest", deployment="ingest", error_class="OSError"
    )
    assert len({one.fingerprint(), other_flow.fingerprint(), other_class.fingerprint()}) == 3


@pytest.mark.usefixtures("prefect_api")
def test_a_dead_webhook_does_not_use_up_the_window_and_recovery_is_announced(
    settings: object, listener: Listener, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from flows.ingest import ingest

    gone = [str(tmp_path / "gone")]
    monkeypatch.setenv("MARKETOPS_ALERT_WEBHOOK_URLS", f"http://127.0.0.1:{_free_port()}/hook")
    assert ingest(paths=gone, return_state=True).is_failed()  # nobody hears this one
    monkeypatch.setenv("MARKETOPS_ALERT_WEBHOOK_URLS", f"{listener.url}/hook")
    assert ingest(paths=gone, return_state=True).is_failed()  # the webhook works again: this one is sent
    assert ingest(paths=gone, return_state=True).is_failed()  # a repeat within the window: folded
    assert [body["alert"]["kind"] for _, body in listener.posts] == [FLOW_FAILED]

    landing = tmp_path / "landing"
    landing.mkdir()
    assert ingest(paths=[str(landing)], return_state=True).is_completed()
    assert [body["alert"]["kind"] for _, body in listener.posts] == [FLOW_FAILED, RESOLVED]
    resolved = listener.posts[-1][1]["alert"]
    assert resolved["flow"] == "ingest" and "after 3 failed run(s)" in resolved["summary"]
    assert ingest(paths=[str(landing)], return_state=True).is_completed()
    assert len(listener.posts) == 2  # nothing open any more: no second all-clear

    lines = AlertLog(load_settings().alerts_log).read()
    assert [(x["kind"], x["folded"], bool(x["sent_to"])) for x in lines] == [
        (FLOW_FAILED, False, False),
        (FLOW_FAILED, False, True),
        (FLOW_FAILED, True, False),
        (RESOLVED, False, True),
    ]
    assert len({x["fingerprint"] for x in lines[:3]}) == 1

    assert ingest(paths=gone, return_state=True).is_failed()  # a new failure after recovery pages at once
    assert [body["alert"]["kind"] for _, body in listener.posts] == [FLOW_FAILED, RESOLVED, FLOW_FAILED]


_SLOW_FLOW = textwrap.dedent(
    """
    import sys, time
    from prefect import flow
    from flows.hooks import RUN_HOOKS
    from marketops.cli import _run_flow

    @flow(name="slow", **RUN_HOOKS)
    def slow() -> None:
        print("running", flush=True)
        time.sleep(120)

    _run_flow(slow)  # as `marketops <command>` runs a flow
    """
)


def _start_slow_flow(env: dict[str, str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_FLOW],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until the flow body runs (the lease is taken by then)
        if line.startswith("running"):
            return proc
    raise AssertionError(f"the flow never started (exit {proc.wait()})")


def _flow_runs(name: str) -> list[FlowRun]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[name])))


@pytest.mark.usefixtures("prefect_api")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_a_killed_cli_run_ends_crashed_and_alerts(
    settings: object, listener: Listener, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, how: signal.Signals
) -> None:
    """A flow killed in its process stayed RUNNING in Prefect and never alerted."""
    from prefect.settings import PREFECT_API_URL

    from flows.hooks import reap_orphaned_runs

    monkeypatch.setenv("MARKETOPS_ALERT_WEBHOOK_URLS", f"{listener.url}/hook")
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "PYTHONPATH": str(ROOT)}
    before = {r.id for r in _flow_runs("slow")}
    proc = _start_slow_flow(env)
    proc.send_signal(how)
    output, _ = proc.communicate(timeout=120)  # drain the pipe: a full pipe would block the dying process's logs
    assert proc.returncode == (-how if how == signal.SIGKILL else 128 + how), output
    if how == signal.SIGKILL:  # nothing ran in the dead process: the next run (or status) settles it
        time.sleep(0.2)
        assert len(reap_orphaned_runs(load_settings())) == 1
    (run,) = [r for r in _flow_runs("slow") if r.id not in before]
    assert run.state is not None and run.state.is_crashed(), run.state
    crashed = [body["alert"] for _, body in listener.posts if body["alert"]["kind"] == "flow_crashed"]
    assert len(crashed) == 1 and crashed[0]["flow_run_id"] == str(run.id)
    assert reap_orphaned_runs(load_settings()) == []  # settled once
