"""Ad-hoc flow commands without PREFECT_API_URL and without `marketops up`: the first one starts a background
Prefect server under MARKETOPS_HOME, the next one reuses it, `down` stops it, and an idle one stops itself.

The CLI runs in subprocesses with a fresh home and no Prefect API in the environment (the session test harness's
URL is removed), so the path under test is the one a user's shell takes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from core.settings import Settings
from deployments.background_server import read_server, server_file
from deployments.local_stack import alive, healthy

ROOT = Path(__file__).resolve().parents[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env | extra


def _marketops(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "marketops", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=400
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_second_flow_command_reuses_the_background_server_and_down_stops_it(
    settings: Settings, tmp_path: Path
) -> None:
    env = _env()
    empty = tmp_path / "landing"
    empty.mkdir()
    assert "0 files seen" in _marketops(env, "ingest", str(empty))
    first = read_server(settings)
    assert first is not None and alive(first.pid)
    try:
        assert "0 files seen" in _marketops(env, "ingest", str(empty))
        second = read_server(settings)
        assert second == first  # same watchdog pid, same port: reused, not restarted
        runs = httpx.post(f"{first.api_url}/flow_runs/filter", json={"limit": 10}, timeout=10).json()
        assert sorted(r["state_type"] for r in runs) == ["COMPLETED", "COMPLETED"]  # both ran against it
    finally:
        stopped = _marketops(env, "down")
    assert str(first.pid) in stopped
    assert not server_file(settings).exists()
    deadline = time.monotonic() + 20
    while alive(first.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(first.pid) and not healthy(first.api_url)
    assert "not running" in _marketops(env, "down")


def test_an_idle_background_server_stops_itself(settings: Settings, tmp_path: Path) -> None:
    env = _env(MARKETOPS_PREFECT_IDLE_STOP_MINUTES="0.05")  # 3 s
    empty = tmp_path / "landing"
    empty.mkdir()
    _marketops(env, "ingest", str(empty))
    info = read_server(settings)
    assert info is not None
    deadline = time.monotonic() + 90
    while alive(info.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    if alive(info.pid):  # leave nothing running behind a failed test
        _marketops(env, "down")
    assert not alive(info.pid), "the idle server did not stop itself"
    assert not server_file(settings).exists()
    assert not healthy(info.api_url)  # the server went with its watchdog


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/api/health" else 404)
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, *args: object) -> None:
        pass


def test_the_health_check_answers_true_only_for_a_server_that_says_healthy() -> None:
    """The http:// check (the standard library's client) says what the API's /health says; nothing listening is
    unhealthy, not an error."""
    for status, expected in ((200, True), (503, False)):
        handler = type("Health", (_Health,), {"status": status})
        with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            try:
                assert healthy(f"http://127.0.0.1:{server.server_port}/api", timeout_s=5) is expected
            finally:
                server.shutdown()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    assert healthy(f"http://127.0.0.1:{closed}/api", timeout_s=2) is False
