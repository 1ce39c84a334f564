"""The maintenance slot a killed backup leaves behind never blocks the next backup or optimize."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time

import pytest

from core.settings import Settings
from flows.guards import warehouse_maintenance

KILLED_HOLDER = textwrap.dedent(
    """
    import os, sys
    from core.settings import load_settings
    from flows.guards import warehouse_maintenance
    with warehouse_maintenance(load_settings()):
        print("holding", flush=True)
        os._exit(9)  # kill -9 inside the slot: nothing is released, nothing renews
    """
)


def _api_env() -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    return os.environ.copy() | {"PREFECT_API_URL": str(PREFECT_API_URL.value())}


def test_a_slot_left_by_a_killed_holder_is_released_within_seconds_and_the_wait_is_logged(
    settings: Settings, prefect_api: None, caplog: pytest.LogCaptureFixture
) -> None:
    child = subprocess.run(
        [sys.executable, "-c", KILLED_HOLDER], capture_output=True, text=True, timeout=120, env=_api_env()
    )
    assert child.returncode == 9 and "holding" in child.stdout, child.stderr[-2000:]
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="marketops.maintenance"):
        with warehouse_maintenance(settings, timeout_s=60):  # same host, holder process gone: reaped at once
            waited = time.monotonic() - started
    assert waited < 20, waited  # before: blocked until Prefect's 300 s lease ran out (never, without its service)
    assert any("dead run" in r.getMessage() for r in caplog.records)
    # and the slot is free again for the next run straight away
    started = time.monotonic()
    with warehouse_maintenance(settings, timeout_s=10):
        assert time.monotonic() - started < 5


def test_a_live_holder_is_waited_for_and_logged_then_the_slot_passes_on(
    settings: Settings, prefect_api: None, caplog: pytest.LogCaptureFixture
) -> None:
    import threading

    release = threading.Event()
    holding = threading.Event()

    def hold() -> None:
        with warehouse_maintenance(settings):
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(30)
    threading.Timer(3.0, release.set).start()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="marketops.maintenance"):
        with warehouse_maintenance(settings, timeout_s=60, stale_after_s=60):
            waited = time.monotonic() - started
    holder.join(10)
    assert 2.0 <= waited < 20, waited  # a live holder is not reaped: we waited for it
    assert any("waiting for the maintenance slot" in r.getMessage() for r in caplog.records)


def test_a_heartbeat_decides_whether_a_holder_is_dead() -> None:
    from flows.guards import holder_is_dead

    now = time.time()
    alive = {"host": "elsewhere", "pid": 1, "renewed": now - 5}
    assert holder_is_dead(alive, missing_s=100, stale_after_s=30, now=now) == ""
    assert "old" in holder_is_dead(alive | {"renewed": now - 31}, missing_s=0, stale_after_s=30, now=now)
    assert holder_is_dead(None, missing_s=10, stale_after_s=30, now=now) == ""
    assert "no heartbeat" in holder_is_dead(None, missing_s=31, stale_after_s=30, now=now)


def test_a_slot_taken_without_a_heartbeat_is_released_once_the_heartbeat_stays_missing(
    settings: Settings, prefect_api: None
) -> None:
    """As a slot left by a run of an older version (Prefect's own 300 s lease, no heartbeat) would be."""
    from prefect.client.orchestration import get_client

    from flows.guards import maintenance_limit_name

    with warehouse_maintenance(settings, timeout_s=10):  # creates the limit
        pass
    with get_client(sync_client=True) as client:
        client.increment_concurrency_slots_with_lease(
            names=[maintenance_limit_name(settings)], slots=1, mode="concurrency", lease_duration=300
        )
    started = time.monotonic()
    with warehouse_maintenance(settings, timeout_s=60, stale_after_s=3):
        waited = time.monotonic() - started
    assert 3 <= waited < 15, waited
