"""The one-command local stack: a Prefect server on 127.0.0.1, the work pool, every deployment of
prefect.yaml, and N process workers — all state under ``$MARKETOPS_HOME``, all pids recorded so
``marketops down`` stops exactly what ``up`` started.

Several workers (here, or on other hosts pointed at the same server) poll one work pool; the limits
that keep runs apart live on the Prefect server, not in a worker: each deployment's
``concurrency_limit`` (one ingest at a time) and the global concurrency limit that backup and
optimize share (``flows/guards.py``). So they hold however many workers and hosts there are."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.errors import MarketopsError
from core.settings import Settings
from deployments.catalogue import PROJECT_ROOT
from storage import report_server

WORK_POOL = "marketops-process"


class StackError(MarketopsError):
    """The local stack could not be started or stopped."""


@dataclass(frozen=True)
class StackInfo:
    api_url: str
    ui_url: str
    port: int
    server_pid: int
    worker_pid: int  # the first worker (kept for readers of older stack files)
    started_at: float
    worker_pids: list[int] = field(default_factory=list)
    reports_pid: int = 0  # 0: no reports server (MARKETOPS_REPORTS_PORT=0, or a stack started before it existed)
    reports_url: str | None = None

    @property
    def workers(self) -> list[int]:
        return self.worker_pids or [self.worker_pid]


def stack_file(settings: Settings) -> Path:
    return settings.home_dir / "stack.json"


def read_stack(settings: Settings) -> StackInfo | None:
    path = stack_file(settings)
    if not path.exists():
        return None
    try:
        return StackInfo(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def healthy(api_url: str, timeout_s: float = 2.0) -> bool:
    """The Prefect API at ``api_url`` answers its health check.

    A plain http:// address (the local stack, the background server) is asked with the standard library's
    client: a new httpx client builds a TLS context from its CA bundle even for http, ~20-50 ms of every
    command that looks for the server. An https:// API (a remote server, Prefect Cloud) keeps httpx and its
    CA bundle."""
    if api_url.startswith("http://"):
        from urllib.error import URLError
        from urllib.request import urlopen

        try:
            with urlopen(f"{api_url}/health", timeout=timeout_s) as response:
                return bool(response.status == 200)
        except (URLError, OSError, ValueError):
            return False
    import httpx  # here: commands that never ask an API (status without one) skip loading it

    try:
        return httpx.get(f"{api_url}/health", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def running_stack(settings: Settings) -> StackInfo | None:
    """The recorded stack when its server answers, else None."""
    info = read_stack(settings)
    if info and alive(info.server_pid) and healthy(info.api_url):
        return info
    return None


def stack_env(settings: Settings, api_url: str) -> dict[str, str]:
    """Environment of every process of the stack: our home, the server's address, no telemetry."""
    env = dict(os.environ)
    env.update(
        MARKETOPS_HOME=str(settings.home_dir),
        MARKETOPS_PROJECT_DIR=str(PROJECT_ROOT),
        PREFECT_HOME=str(settings.prefect_home),
        PREFECT_API_URL=api_url,
        PREFECT_UI_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    return env


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    handle = open(log, "ab")
    # a session of its own, so `down` can stop the whole process group and nothing else
    return subprocess.Popen(
        args, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True, cwd=PROJECT_ROOT
    )


def _prefect(args: list[str], env: dict[str, str], what: str, timeout_s: float = 300) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "prefect", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=PROJECT_ROOT,
    )
    if done.returncode != 0:
        raise StackError(f"{what} failed: {(done.stderr or done.stdout).strip()[-1500:]}")
    return done.stdout


def worker_name(index: int) -> str:
    """Stable worker names, so the UI's work-pool page shows which worker ran what."""
    return f"marketops-worker-{index}"


def up(
    settings: Settings,
    port: int,
    progress: Callable[[str], None] = lambda _: None,
    startup_timeout_s: float = 180,
    workers: int = 1,
) -> StackInfo:
    """Start (or find) the stack with ``workers`` process workers on the pool; idempotent."""
    if workers < 1:
        raise StackError("--workers must be at least 1")
    current = running_stack(settings)
    if current is not None:
        progress("already running")
        return current
    from deployments.background_server import stop_server

    stop_server(settings)  # one Prefect server per home: the stack's replaces an ad-hoc command's background one
    api_url = f"http://127.0.0.1:{port}/api"
    if healthy(api_url):
        raise StackError(f"something else already answers on 127.0.0.1:{port}; pass another --port")
    env = stack_env(settings, api_url)
    settings.prefect_home.mkdir(parents=True, exist_ok=True)
    logs = settings.home_dir / "logs"
    progress(f"starting the Prefect server on 127.0.0.1:{port}")
    server = _spawn(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env,
        logs / "prefect-server.log",
    )
    deadline = time.monotonic() + startup_timeout_s
    while not healthy(api_url):
        if server.poll() is not None or time.monotonic() > deadline:
            _stop_group(server.pid)
            raise StackError(f"the Prefect server did not come up (see {logs / 'prefect-server.log'})")
        time.sleep(0.5)
    started: list[subprocess.Popen[bytes]] = []
    reports = None
    try:
        progress(f"creating the work pool {WORK_POOL}")
        try:
            _prefect(["work-pool", "inspect", WORK_POOL], env, "inspecting the work pool")
        except StackError:
            _prefect(["work-pool", "create", WORK_POOL, "--type", "process"], env, "creating the work pool")
        progress("deploying everything in prefect.yaml")
        _prefect(["--no-prompt", "deploy", "--all"], env, "prefect deploy --all")
        for index in range(1, workers + 1):
            progress(f"starting worker {index} of {workers}")
            command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", WORK_POOL, "--type", "process"]
            started.append(
                _spawn(
                    [*command, "--name", worker_name(index)],
                    env,
                    logs / ("prefect-worker.log" if index == 1 else f"prefect-worker-{index}.log"),
                )
            )
        reports = _start_reports_server(settings, env, logs, progress)
    except BaseException:
        _stop_group(server.pid)
        for process in (*started, reports):
            if process is not None:
                _stop_group(process.pid)
        raise
    info = StackInfo(
        api_url=api_url,
        ui_url=f"http://127.0.0.1:{port}",
        port=port,
        server_pid=server.pid,
        worker_pid=started[0].pid,
        started_at=time.time(),
        worker_pids=[w.pid for w in started],
        reports_pid=reports.pid if reports else 0,
        reports_url=report_server.url_for(settings.reports_port) if reports else None,
    )
    stack_file(settings).write_text(json.dumps(asdict(info)))
    return info


def _start_reports_server(
    settings: Settings, env: dict[str, str], logs: Path, progress: Callable[[str], None], timeout_s: float = 30
) -> subprocess.Popen[bytes] | None:
    """Serve ``$MARKETOPS_HOME/reports`` on 127.0.0.1 (None when ``reports_port`` is 0)."""
    port = settings.reports_port
    if not port:
        return None
    url = report_server.url_for(port)
    if report_server.answers(url):
        raise StackError(f"something else already answers on 127.0.0.1:{port}; set MARKETOPS_REPORTS_PORT")
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    progress(f"serving the reports on {url}")
    process = _spawn(report_server.command(settings.reports_dir, port), env, logs / "reports-server.log")
    deadline = time.monotonic() + timeout_s
    while not report_server.answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            _stop_group(process.pid)
            raise StackError(f"the reports server did not come up on {url} (see {logs / 'reports-server.log'})")
        time.sleep(0.2)
    report_server.record(settings, process.pid, url)
    return process


def _stop_group(pid: int, grace_s: float = 15) -> bool:
    """SIGTERM the process group led by ``pid``, SIGKILL after ``grace_s``; True if it was running."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return True


def down(settings: Settings) -> list[int]:
    """Stop the workers, then the server (by recorded pid and its process group); returns pids stopped."""
    info = read_stack(settings)
    if info is None:
        return []
    stopped = [pid for pid in (info.reports_pid, *info.workers, info.server_pid) if pid and _stop_group(pid)]
    report_server.clear(settings)
    stack_file(settings).unlink(missing_ok=True)
    return stopped
