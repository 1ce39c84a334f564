"""Alerts reach a real HTTP listener once per failure; transient faults are retried, contract violations not."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from core.errors import ContractViolation
from core.settings import load_settings
from storage.alerts import AlertLog

pytestmark = pytest.mark.usefixtures("prefect_api")


class Listener:
    """A webhook receiver on 127.0.0.1 that records every POST body by path."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.posts.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_failing_flow_posts_once_per_channel_and_logs_one_line(
    settings: object, listener: Listener, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from flows.ingest import ingest

    monkeypatch.setenv("MARKETOPS_ALERT_WEBHOOK_URLS", f"{listener.url}/hook")
    monkeypatch.setenv("MARKETOPS_ALERT_SLACK_WEBHOOK_URLS", f"{listener.url}/slack")
    missing = str(tmp_path / "no-landing-here")
    state = ingest(paths=[missing], return_state=True)
    assert state.is_failed()

    assert sorted(path for path, _ in listener.posts) == ["/hook", "/slack"]
    generic = next(body for path, body in listener.posts if path == "/hook")["alert"]
    assert generic["kind"] == "flow_failed" and generic["flow"] == "ingest"
    assert "ingest path does not exist" in generic["summary"]
    assert generic["parameters"]["paths"] == [missing]
    assert generic["flow_run_id"] == str(state.state_details.flow_run_id)
    assert generic["link"] and generic["link"].endswith(f"/runs/flow-run/{generic['flow_run_id']}")
    slack = next(body for path, body in listener.posts if path == "/slack")
    assert "marketops ingest failed" in slack["text"]
    lines = AlertLog(load_settings().alerts_log).read()
    assert len(lines) == 1 and lines[0]["sent_to"] == ["webhook#0", "slack#0"] and lines[0]["delivery_errors"] == []


def test_repeats_within_the_window_are_folded(
    settings: object, listener: Listener, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from flows.ingest import ingest

    monkeypatch.setenv("MARKETOPS_ALERT_WEBHOOK_URLS", f"{listener.url}/hook")
    for _ in range(2):
        assert ingest(paths=[str(tmp_path / "gone")], return_state=True).is_failed()
    assert len(listener.posts) == 1
    lines = AlertLog(load_settings().alerts_log).read()
    assert [line["folded"] for line in lines] == [False, True]


def test_a_dead_webhook_is_reported_in_the_log_and_does_not_raise(
    settings: object, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from flows.ingest import ingest

    monkeypatch.setenv("MARKETOPS_ALERT_WEBHOOK_URLS", f"http://127.0.0.1:{_free_port()}/hook")
    assert ingest(paths=[str(tmp_path / "gone")], return_state=True).is_failed()
    (line,) = AlertLog(load_settings().alerts_log).read()
    assert line["sent_to"] == [] and line["delivery_errors"][0].startswith("webhook#0: ConnectError")


def _task_runs(flow_run_id: UUID | None) -> list[Any]:
    assert flow_run_id is not None  # a state returned by a flow run names its run
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        return client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))


def test_a_transient_storage_fault_is_retried_with_backoff(
    settings: object, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from flows.ingest import ingest

    monkeypatch.setenv(
        "MARKETOPS_CLICKHOUSE_URL", f"http://127.0.0.1:{_free_port()}"
    )  # nothing listens: connection refused
    monkeypatch.setenv("MARKETOPS_CLICKHOUSE_CONNECT_TIMEOUT_S", "1")
    monkeypatch.setenv("MARKETOPS_RETRIES", "2")
    monkeypatch.setenv("MARKETOPS_RETRY_BASE_DELAY_S", "0.05")
    landing = tmp_path / "landing"
    landing.mkdir()
    state = ingest(paths=[str(landing)], return_state=True)
    assert state.is_failed() and "TransientStorageError" in (state.message or "")
    (schema_run,) = [t for t in _task_runs(state.state_details.flow_run_id) if t.name.startswith("ensure_schema")]
    assert schema_run.run_count == 3  # the first try and two retries


def test_a_contract_violation_is_not_retried(settings: object) -> None:
    from prefect import flow, task

    from core.errors import TransientStorageError
    from tasks.retry import with_retry_policy

    @task(name="violates_contract")
    def violates() -> None:
        raise ContractViolation("Bars", "high: ohlc_consistent (1 cases)")

    @task(name="flaky_storage")
    def flaky() -> None:
        raise TransientStorageError("too many parts")

    @flow(name="retry-policy-check")
    def check() -> None:
        policy = load_settings().model_copy(update={"retries": 2, "retry_base_delay_s": 0.01})
        for chosen in (violates, flaky):
            with_retry_policy(chosen, policy).submit().wait()

    state = check(return_state=True)
    counts = {t.name.rsplit("-", 1)[0]: t.run_count for t in _task_runs(state.state_details.flow_run_id)}
    assert counts == {"violates_contract": 1, "flaky_storage": 3}
