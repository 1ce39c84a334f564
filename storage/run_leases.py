"""Run leases: a file per flow run that is running in a process of this host, so a killed run is found.

A flow run killed with SIGKILL (or a lost machine) cannot report its own end: Prefect keeps showing
it RUNNING and no hook fires. The lease names the run and the process that holds it; whoever starts
the next run finds leases whose process is gone and settles them (CRASHED, plus an alert).
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from storage.atomic import write_atomic


@dataclass(frozen=True)
class RunLease:
    flow_run_id: str
    flow: str
    deployment: str | None
    pid: int
    host: str
    started_at: str
    parameters: dict[str, Any]


def _path(leases_dir: Path, flow_run_id: str) -> Path:
    return leases_dir / f"{flow_run_id}.json"


def take(leases_dir: Path, lease: RunLease) -> None:
    write_atomic(_path(leases_dir, lease.flow_run_id), json.dumps(asdict(lease), default=str).encode())


def release(leases_dir: Path, flow_run_id: str) -> None:
    _path(leases_dir, flow_run_id).unlink(missing_ok=True)


def this_host() -> str:
    return socket.gethostname()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def orphaned(leases_dir: Path) -> list[RunLease]:
    """Leases of this host whose process no longer exists (a run on another host is its host's to settle)."""
    if not leases_dir.exists():
        return []
    found = []
    for path in sorted(leases_dir.glob("*.json")):
        try:
            lease = RunLease(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            continue  # half-written by a process killed mid-write; the atomic write makes this rare
        if lease.host == this_host() and not _alive(lease.pid):
            found.append(lease)
    return found
