"""Prefect's own settings, defaulted before Prefect is imported: state under our home, no telemetry."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from core.settings import Settings

# Names under which a user sets the flow-run heartbeat (Prefect 3 reads the legacy one too).
HEARTBEAT_VARIABLES = ("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "PREFECT_RUNNER_HEARTBEAT_FREQUENCY")


def configure_prefect(settings: Settings) -> None:
    """Set defaults only; anything the user exported (e.g. PREFECT_API_URL) wins."""
    defaults = {
        "PREFECT_HOME": str(settings.prefect_home),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_LOGGING_LOG_PRINTS": "false",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    # Prefect's SQLite cannot open a database in a directory that does not exist yet.
    os.makedirs(os.environ["PREFECT_HOME"], exist_ok=True)


@contextmanager
def foreground_run() -> Iterator[None]:
    """Prefect settings for a flow run that a command runs in its own process, in the foreground.

    No flow-run heartbeat unless the user set one: Prefect's heartbeat thread sleeps in 1 s steps and the
    engine joins it when the run ends, so every ad-hoc command waited 0-1 s (0.5 s on average) after its
    work for a heartbeat nobody reads — Prefect only acts on heartbeats through a "zombie flow" automation,
    which marketops does not create, and a foreground run killed outright is settled by the next command
    through its run lease (``flows.hooks.reap_orphaned_runs``). Deployment runs (a worker's process) keep
    Prefect's default."""
    if any(name in os.environ for name in HEARTBEAT_VARIABLES):
        yield
        return
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield
