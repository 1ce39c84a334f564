"""Alert sending for flows and their hooks, and the stale-data check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import task

from core.alerts import STALE_DATA, Alert, stale_symbols
from core.settings import Settings
from storage.alerts import deliver
from storage.warm import open_warehouse
from storage.warm.status import latest_bars
from tasks.retry import task_options


def notify(settings: Settings, alert: Alert) -> dict[str, Any]:
    """Deliver now (plain function: state hooks run outside any task context)."""
    return deliver(settings, alert)


def notify_run_failure(settings: Settings, alert: Alert) -> dict[str, Any]:
    """Deliver a failed/crashed run's alert and keep it open until the flow next succeeds."""
    return deliver(settings, alert, run_failure=True)


@task(name="check_freshness", **task_options())
def check_freshness(settings: Settings, flow: str, link: str | None) -> list[str]:
    """Alert for every symbol whose newest bar is older than ``stale_after_minutes`` (when set)."""
    if settings.stale_after_minutes is None:
        return []
    max_age = timedelta(minutes=settings.stale_after_minutes)
    with open_warehouse(settings) as warehouse:
        stale = stale_symbols(latest_bars(warehouse), datetime.now(UTC), max_age)
    subjects = []
    for row in stale.iter_rows(named=True):
        subject = f"{row['venue']}:{row['symbol']}"
        notify(
            settings,
            Alert(
                kind=STALE_DATA,
                title="marketops stale data",
                flow=flow,
                subject=subject,
                link=link,
                summary=(
                    f"{subject}: newest bar {row['last_ts'].isoformat()} "
                    f"is older than {settings.stale_after_minutes:g} min"
                ),
            ),
        )
        subjects.append(subject)
    return subjects
