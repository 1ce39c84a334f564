"""A Prefect server in the background for ad-hoc flow commands, so one command costs its work, not a server start.

Without ``PREFECT_API_URL`` and without the stack ``marketops up`` started, the first flow command starts
``prefect server start`` under ``$MARKETOPS_HOME`` (behind a small watchdog, in a session of its own) and
records it in ``prefect-server.json``; later commands find and reuse it; ``marketops down`` stops it.

Idle stop: each command holds a shared ``flock`` on ``prefect-server.in-use`` for its whole life and touches
``prefect-server.last-use`` when it starts and ends. The watchdog only stops the server when it can take that
lock exclusively (no command is using it) and the last use is older than ``prefect_idle_stop_minutes``; a
command arriving meanwhile waits for the stop to finish and then starts a new server.
"""

from __future__ import annotations

import argparse
import atexit
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from core.settings import Settings, load_settings
from deployments.catalogue import PROJECT_ROOT
from deployments.local_stack import StackError, _spawn, _stop_group, alive, healthy, running_stack, stack_env


@dataclass(frozen=True)
class ServerInfo:
    api_url: str
    port: int
    pid: int  # the watchdog, leader of the server's process group
    started_at: float


def server_file(settings: Settings) -> Path:
    return settings.home_dir / "prefect-server.json"


def _in_use_file(settings: Settings) -> Path:
    return settings.home_dir / "prefect-server.in-use"


def _last_use_file(settings: Settings) -> Path:
    return settings.home_dir / "prefect-server.last-use"


def read_server(settings: Settings) -> ServerInfo | None:
    try:
        return ServerInfo(**json.loads(server_file(settings).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def running_server(settings: Settings) -> ServerInfo | None:
    """The recorded background server when its watchdog lives and the API answers, else None."""
    info = read_server(settings)
    if info and alive(info.pid) and healthy(info.api_url):
        return info
    return None


_held_fds: list[int] = []  # shared locks held until this process exits (the kernel drops them then)


def _touch(path: Path) -> None:
    path.touch()  # sets the mtime to now even when the file exists


def _hold_in_use(settings: Settings) -> None:
    """Mark this process as a user of the background server until it exits (blocks while one is stopping)."""
    if _held_fds:
        return
    settings.home_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(_in_use_file(settings), os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_SH)
    _held_fds.append(fd)
    last_use = _last_use_file(settings)
    _touch(last_use)
    atexit.register(_touch, last_use)  # idle time counts from the end of the last command


@contextmanager
def _start_lock(settings: Settings) -> Iterator[None]:
    """One starter at a time: two commands arriving together must not start two servers."""
    fd = os.open(settings.home_dir / "prefect-server.start.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def attach(settings: Settings) -> str | None:
    """API URL of ``up``'s stack or of a running background server (now kept alive for this process), else None."""
    stack = running_stack(settings)
    if stack is not None:
        return stack.api_url
    if read_server(settings) is None:
        return None
    _hold_in_use(settings)
    info = running_server(settings)
    return info.api_url if info else None


def ensure_server(settings: Settings) -> str:
    """API URL for a flow command: ``up``'s stack, else the background server, started now when there is none."""
    stack = running_stack(settings)
    if stack is not None:
        return stack.api_url
    _hold_in_use(settings)  # first: the watchdog cannot stop a server while we decide to reuse it
    with _start_lock(settings):
        info = running_server(settings) or _start(settings)
    return info.api_url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(settings: Settings) -> ServerInfo:
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    settings.prefect_home.mkdir(parents=True, exist_ok=True)
    log = settings.home_dir / "logs" / "prefect-background-server.log"
    watchdog = _spawn(
        [
            *(sys.executable, "-m", "deployments.background_server", "--port", str(port)),
            *("--idle-minutes", str(settings.prefect_idle_stop_minutes)),
        ],
        stack_env(settings, api_url),
        log,
    )
    deadline = time.monotonic() + settings.prefect_server_startup_timeout_s
    while not healthy(api_url, timeout_s=1.0):
        if watchdog.poll() is not None or time.monotonic() > deadline:
            _stop_group(watchdog.pid)
            raise StackError(f"the background Prefect server did not come up (see {log})")
        time.sleep(0.25)
    info = ServerInfo(api_url=api_url, port=port, pid=watchdog.pid, started_at=time.time())
    tmp = server_file(settings).with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(info)))
    tmp.replace(server_file(settings))
    return info


def stop_server(settings: Settings) -> list[int]:
    """Stop the background server (its whole process group); returns the pid stopped, if any."""
    info = read_server(settings)
    server_file(settings).unlink(missing_ok=True)
    if info is None:
        return []
    return [info.pid] if _stop_group(info.pid) else []


def _idle(settings: Settings, idle_s: float) -> bool:
    """True, holding nothing, when no command uses the server and the last use is older than ``idle_s``."""
    fd = os.open(_in_use_file(settings), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    try:
        last = _last_use_file(settings).stat().st_mtime
    except FileNotFoundError:
        last = 0.0
    if time.time() - last < idle_s:
        os.close(fd)
        return False
    # keep the exclusive lock (fd left open) while stopping: a command arriving now waits, then starts anew
    return True


def _watch(port: int, idle_minutes: float) -> int:
    """The watchdog: run the server as a child, stop both when idle; exits when the server does.

    The home comes from the environment the starting command gave it; the idle time from that command's settings.
    """
    settings = load_settings()
    idle_s = idle_minutes * 60
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        cwd=PROJECT_ROOT,
    )
    check_s = max(0.5, min(30.0, idle_s / 4))
    while server.poll() is None:
        time.sleep(check_s)
        if _idle(settings, idle_s):
            info = read_server(settings)
            if info is not None and info.pid == os.getpid():
                server_file(settings).unlink(missing_ok=True)
            print(f"idle for {idle_minutes} min: stopping the server", flush=True)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            os.killpg(os.getpgrp(), signal.SIGTERM)  # the server and its workers; not this process
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(os.getpgrp(), signal.SIGKILL)
            return 0
    return server.returncode or 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Background Prefect server with an idle stop.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--idle-minutes", type=float, required=True)
    cli = parser.parse_args()
    sys.exit(_watch(cli.port, cli.idle_minutes))
