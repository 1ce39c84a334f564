"""``marketops doctor``: is this machine ready to run marketops, and if not, what to do about it.

Each check is independent and cheap (no flow, no schema change, nothing written but a probe file that is removed
again): Python, the engines, the settings, the warm, cold and hot stores, the Prefect API and disk space. Each
answers OK, WARN (works, but look) or FAIL (a command will fail) with a fix hint.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.settings import Settings, load_settings

OK, WARN, FAIL = "OK", "WARN", "FAIL"
PYTHON = (3, 11)  # pyproject: requires-python = ">=3.11,<3.12"
DISK_FAIL_BYTES = 1 << 30  # below 1 GiB free a day of ingest, a backup or a cache build can fill the disk
DISK_WARN_BYTES = 5 << 30


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # OK | WARN | FAIL
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def run_checks() -> list[Check]:
    """Every check in the order a person fixes things: interpreter, libraries, settings, stores, API, disk."""
    checks = [check_python(), *check_engines()]
    try:
        settings = load_settings()
    except Exception as exc:  # a broken setting: say which, and skip what needs the settings
        reason = " ".join(str(exc).split())[:400]
        fix = "fix the MARKETOPS_* variable or the marketops.toml entry named above (see the README's Settings)"
        return [*checks, Check("settings", FAIL, f"do not load: {reason}", fix)]
    checks.append(Check("settings", OK, f"loaded; home {settings.home_dir}"))
    for probe in (check_warehouse, check_cold, check_hot, check_prefect, check_disk):
        checks.append(_guarded(probe, settings))
    return checks


def _guarded(probe: Callable[[Settings], Check], settings: Settings) -> Check:
    try:
        return probe(settings)
    except Exception as exc:  # a check that crashes is a finding, not a crash of the doctor
        name = probe.__name__.removeprefix("check_")
        return Check(name, FAIL, f"{type(exc).__name__}: {exc}"[:400], "see the error; `marketops status` shows more")


def check_python() -> Check:
    found = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] == PYTHON:
        return Check("python", OK, f"Python {found} ({sys.executable})")
    return Check("python", FAIL, f"Python {found}; marketops needs 3.11", "create the virtualenv with python3.11")


ENGINES = (
    ("polars", True),
    ("pyarrow", True),
    ("duckdb", True),
    ("clickhouse_connect", True),
    ("chdb", False),  # needed only for the embedded warehouse (no MARKETOPS_CLICKHOUSE_URL)
)


def check_engines() -> list[Check]:
    found: list[Check] = []
    for module, required in ENGINES:
        try:
            imported = importlib.import_module(module)
        except Exception as exc:
            status = FAIL if required else WARN
            fix = "pip install -e '.[dev]' in the project's virtualenv (versions are pinned in pyproject.toml)"
            found.append(Check(f"engine {module}", status, f"not importable: {exc}"[:300], fix))
            continue
        version = getattr(imported, "__version__", None) or getattr(imported, "version", "")
        found.append(Check(f"engine {module}", OK, f"{module} {version}".strip()))
    return found


def check_warehouse(settings: Settings) -> Check:
    if settings.clickhouse_url:
        from storage.warm import open_warehouse

        with open_warehouse(settings) as warehouse:
            version = warehouse.query_scalar("SELECT version()")
        return Check("warehouse", OK, f"ClickHouse {version} at {settings.clickhouse_url} answers")
    data = settings.warehouse_dir
    problem = _unwritable(data)
    if problem:
        return Check("warehouse", FAIL, f"embedded chDB at {data}: {problem}", "make MARKETOPS_HOME writable")
    holder = _lock_holder(data.parent / f".{data.name}.lock")
    if holder:
        return Check(
            "warehouse",
            WARN,
            f"embedded chDB at {data} is in use by {holder}",
            "a flow is running: wait for it, or stop that process; commands wait for the lock only briefly",
        )
    return Check("warehouse", OK, f"embedded chDB at {data}: writable, not in use")


def check_cold(settings: Settings) -> Check:
    if settings.cold_url:
        from storage.cold.factory import cold_store

        store = cold_store(settings)
        files = len(store.list())
        return Check("cold store", OK, f"{settings.cold_url} reachable ({files:,} Parquet files)")
    problem = _unwritable(settings.cold_dir)
    if problem:
        return Check("cold store", FAIL, f"{settings.cold_dir}: {problem}", "make the directory writable")
    return Check("cold store", OK, f"local directory {settings.cold_dir} writable")


def check_hot(settings: Settings) -> Check:
    if settings.hazelcast_members:
        from storage.hot import open_hot_store

        with open_hot_store(settings):
            pass
        return Check("hot store", OK, f"Hazelcast {', '.join(settings.hazelcast_members)} reachable")
    problem = _unwritable(settings.hot_path.parent)
    if problem:
        return Check("hot store", FAIL, f"{settings.hot_path}: {problem}", "make MARKETOPS_HOME writable")
    return Check("hot store", OK, f"embedded file {settings.hot_path} writable")


def check_prefect(settings: Settings) -> Check:
    from deployments.background_server import running_server
    from deployments.local_stack import healthy, running_stack

    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        if healthy(configured, timeout_s=5.0):
            return Check("prefect api", OK, f"PREFECT_API_URL {configured} answers")
        return Check(
            "prefect api",
            FAIL,
            f"PREFECT_API_URL {configured} does not answer",
            "start that server, or unset PREFECT_API_URL to let marketops start its own",
        )
    stack = running_stack(settings)
    if stack is not None:
        return Check("prefect api", OK, f"the local stack (`marketops up`) at {stack.api_url}")
    server = running_server(settings)
    if server is not None:
        return Check("prefect api", OK, f"the background server at {server.api_url}")
    return Check(
        "prefect api",
        OK,
        "none running: a background server will be started by the first flow command (it stops when idle)",
        "`marketops up` starts the UI, the work pool and the schedules",
    )


def check_disk(settings: Settings) -> Check:
    where = _existing(settings.home_dir)
    free = shutil.disk_usage(where).free
    detail = f"{free / (1 << 30):,.1f} GiB free at {where}"
    if free < DISK_FAIL_BYTES:
        return Check("disk", FAIL, detail, "free space or point MARKETOPS_HOME at a larger disk")
    if free < DISK_WARN_BYTES:
        return Check("disk", WARN, detail, "ingest, backups and caches grow with the data: free some space")
    return Check("disk", OK, detail)


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _unwritable(path: Path) -> str | None:
    """Why ``path`` (or, while it does not exist yet, the directory it would be created in) cannot be written."""
    where = _existing(path)
    if not where.is_dir():
        return f"{where} is not a directory"
    probe = where / f".marketops-doctor-{uuid.uuid4().hex}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return f"cannot write in {where}: {exc.strerror or exc}"
    return None


def _lock_holder(lock: Path) -> str | None:
    """Who holds the embedded warehouse's lock, or None when nobody does (the lock is only tried, never held)."""
    if not lock.exists():
        return None
    from storage.file_lock import lock_within, unlock
    from storage.warm.chdb_lock import ProcessLock

    fd = os.open(lock, os.O_RDONLY)
    try:
        if lock_within(fd, 0):
            unlock(fd)
            return None
    finally:
        os.close(fd)
    return ProcessLock(lock).holder()


def worst(checks: list[Check]) -> str:
    return FAIL if any(c.status == FAIL for c in checks) else WARN if any(c.status == WARN for c in checks) else OK


def report(checks: list[Check]) -> dict[str, Any]:
    return {"status": worst(checks), "checks": [c.as_dict() for c in checks]}
