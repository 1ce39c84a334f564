"""Prefect's own settings, defaulted before Prefect is imported: state under our home, no telemetry."""

from __future__ import annotations

import os

from core.settings import Settings


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
