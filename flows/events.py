"""Send the marketops events (vocabulary in ``core/events.py``) to Prefect from inside a flow run.

Each helper is one line in its flow. Prefect attaches the emitting flow run, flow and deployment as
related resources, so an event links back to the run that caused it; an event that cannot be sent
is logged by Prefect and never fails the run (the alert log stays the channel of record).
"""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger
from prefect.events import emit_event
from prefect.runtime import flow_run

from core import events
from core.settings import Settings
from tasks.events import touched_files
from tasks.retry import with_retry_policy


def warehouse_of(settings: Settings) -> str:
    return events.warehouse_id(settings.clickhouse_url, str(settings.warehouse_dir), settings.clickhouse_database)


def emit(event: events.MarketopsEvent | None) -> dict[str, Any] | None:
    """Send ``event`` (nothing when None); returns what was sent, for the flow's summary and tests."""
    if event is None:
        return None
    emit_event(event=event.event, resource=event.resource, payload=event.payload)
    brief = {k: v for k, v in event.payload.items() if not isinstance(v, list | dict)}  # lists can be long
    get_run_logger().info("event %s: %s", event.event, brief)
    return {"event": event.event, "resource": event.resource, "payload": event.payload}


def ingest_loaded(settings: Settings, run_id: str) -> dict[str, Any] | None:
    """``marketops.ingest.loaded`` with the symbols and days the run loaded bars for.

    Labelled ``chained`` when a parent flow (daily) runs the next stages itself, so the triggers
    that validate and warm after a standalone ingest leave it alone."""
    touched = with_retry_policy(touched_files, settings)(settings, run_id)
    chained = flow_run.parent_flow_run_id is not None
    return emit(events.ingest_loaded(touched, warehouse_of(settings), chained, run_id))


def dq_breach(settings: Settings, rates: dict[str, Any], report_url: str | None) -> dict[str, Any] | None:
    return emit(events.dq_breach(rates, warehouse_of(settings), report_url))


def backup_drill(settings: Settings, snapshot: dict[str, Any], drill: dict[str, Any]) -> dict[str, Any] | None:
    return emit(events.backup_drill(snapshot, drill, warehouse_of(settings)))


def hot_stale(settings: Settings, problems: list[str], mode: str, rebuilding: bool) -> dict[str, Any] | None:
    return emit(events.hot_stale(problems, mode, rebuilding, warehouse_of(settings)))
