"""Cross-run exclusion: backup and optimize never run at the same time on one warehouse.

The slot is a Prefect global concurrency limit of 1, taken with a lease that a background thread renews
and beside it a heartbeat (a Prefect variable: who holds it, where, its lease id, when it last renewed).
A holder killed with ``kill -9`` renews nothing: the next run sees its heartbeat go stale (or, on the same
host, its process gone) and releases that lease at once, instead of waiting for the server to expire it
(Prefect's default lease is 300 s, and an ephemeral API never expires leases at all). While it waits for
a live holder it logs who holds the slot.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.variables import Variable

from core.settings import Settings

LEASE_S = 60.0  # the shortest lease the Prefect API grants; renewed every RENEW_S
RENEW_S = 5.0
STALE_S = 30.0  # a heartbeat this old belongs to a dead holder
_log = logging.getLogger("marketops.maintenance")


def maintenance_limit_name(settings: Settings) -> str:
    """One limit per warehouse: the server URL or the embedded home identifies it."""
    where = settings.clickhouse_url or str(settings.warehouse_dir)
    return f"marketops-maintenance-{hashlib.sha256(where.encode()).hexdigest()[:12]}"


def _heartbeat_name(limit: str) -> str:
    return limit.replace("-", "_")  # variable names: lowercase letters, digits, underscores


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder_is_dead(heartbeat: dict[str, Any] | None, missing_s: float, stale_after_s: float, now: float) -> str:
    """Why the current holder is presumed dead ('' while it looks alive).

    No heartbeat at all (a holder killed between taking the slot and its first heartbeat, or a slot left by
    an older version) counts as dead once it has been missing for ``stale_after_s`` in a row: a live holder
    writes its heartbeat right after it takes the slot.
    """
    if heartbeat is None:
        return f"no heartbeat for {missing_s:.0f} s" if missing_s >= stale_after_s else ""
    if heartbeat.get("host") == socket.gethostname() and not _process_alive(int(heartbeat.get("pid", 0))):
        return f"process {heartbeat.get('pid')} on this host is gone"
    age = now - float(heartbeat.get("renewed", 0))
    return f"heartbeat {age:.0f} s old" if age >= stale_after_s else ""


def _try_acquire(client: SyncPrefectClient, limit: str) -> UUID | None:
    try:
        response = client.increment_concurrency_slots_with_lease(
            names=[limit], slots=1, mode="concurrency", lease_duration=LEASE_S
        )
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code == 423:  # Locked: the slot is taken
            return None
        raise
    return UUID(str(response.json()["lease_id"]))


def _reap(client: SyncPrefectClient, limit: str, heartbeat: dict[str, Any] | None, tried: dict[str, float]) -> None:
    """Free the slot a dead holder left: its lease when we know it, else the limit's active slots.

    A known lease is released once: if that fails (another waiter reaped it) the slot may be a new holder's
    by now. Still held with the same dead heartbeat well after that (a new holder would have written its
    own), the slot belongs to a lease nobody can name, and the limit's active slots are reset. The heartbeat
    is not removed here; the next holder overwrites it.
    """
    lease_id = str((heartbeat or {}).get("lease_id") or "")
    if lease_id and lease_id not in tried:
        tried[lease_id] = time.monotonic()
        try:
            client.release_concurrency_slots_with_lease(UUID(lease_id))
        except (httpx.HTTPStatusError, ObjectNotFound, ValueError):
            pass
        return
    if lease_id and time.monotonic() - tried[lease_id] < 3 * RENEW_S:
        return
    client.update_global_concurrency_limit(limit, GlobalConcurrencyLimitUpdate(active_slots=0))


def _read_heartbeat(name: str) -> dict[str, Any] | None:
    value = Variable.get(name, default=None)
    return value if isinstance(value, dict) else None


@contextmanager
def warehouse_maintenance(
    settings: Settings,
    timeout_s: float = 6 * 3600,
    stale_after_s: float = STALE_S,
    logger: logging.Logger | logging.LoggerAdapter[logging.Logger] | None = None,
) -> Iterator[None]:
    """Hold the warehouse's single maintenance slot (created on first use) for the block."""
    log = logger or _log
    limit = maintenance_limit_name(settings)
    beat = _heartbeat_name(limit)
    started = time.monotonic()
    last_said = 0.0
    missing_since: float | None = None
    tried: dict[str, float] = {}
    with get_client(sync_client=True) as client:
        try:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=limit, limit=1))
        except ObjectAlreadyExists:
            pass
        lease_id = _try_acquire(client, limit)
        while lease_id is None:
            waited = time.monotonic() - started
            heartbeat = _read_heartbeat(beat)
            if heartbeat is None:
                missing_since = time.monotonic() if missing_since is None else missing_since
            else:
                missing_since = None
            missing = time.monotonic() - missing_since if missing_since is not None else 0.0
            dead = holder_is_dead(heartbeat, missing, stale_after_s, time.time())
            if dead:
                log.warning("maintenance slot was held by a dead run (%s; %s): releasing it", heartbeat, dead)
                _reap(client, limit, heartbeat, tried)
                missing_since = None
            elif waited >= timeout_s:
                raise TimeoutError(f"maintenance slot still held after {timeout_s:.0f} s by {heartbeat}")
            elif waited - last_said >= 10 or last_said == 0.0:
                log.warning("waiting for the maintenance slot (held by %s) for %.0f s", heartbeat, waited)
                last_said = waited or 0.001
            time.sleep(0.2 if dead else 1.0)
            lease_id = _try_acquire(client, limit)
    me = {"host": socket.gethostname(), "pid": os.getpid(), "lease_id": str(lease_id), "since": str(datetime.now(UTC))}
    stop = threading.Event()

    def renew() -> None:
        with get_client(sync_client=True) as client:
            while True:
                Variable.set(beat, me | {"renewed": time.time()}, overwrite=True)
                if stop.wait(RENEW_S):
                    return
                try:
                    client.renew_concurrency_lease(lease_id, LEASE_S)
                except httpx.HTTPError as exc:  # a blip: the next renewal (or the heartbeat) covers it
                    log.warning("could not renew the maintenance lease: %s", exc)

    Variable.set(beat, me | {"renewed": time.time()}, overwrite=True)
    renewer = threading.Thread(target=renew, name="maintenance-lease", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join(timeout=10)
        with get_client(sync_client=True) as client:
            try:
                client.release_concurrency_slots_with_lease(lease_id)
            finally:
                Variable.unset(beat)
