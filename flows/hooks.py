"""State hooks shared by every flow: one alert per failed or crashed run, to every configured channel."""

from __future__ import annotations

from typing import Any

from core.alerts import FLOW_CRASHED, FLOW_FAILED, Alert
from core.settings import load_settings
from tasks.alerts import notify


def run_link(flow_run_id: str) -> str | None:
    """The run's page in the Prefect UI, when a UI address is known."""
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    base = settings.ui_url or (settings.api.url.removesuffix("/api") if settings.api.url else None)
    return f"{base.rstrip('/')}/runs/flow-run/{flow_run_id}" if base else None


def _deployment_name() -> str | None:
    from prefect.runtime import deployment

    try:
        return deployment.name
    except Exception:
        return None


def alert_on_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """One alert per failed/crashed run; an error that names its own kind (``alert_kind``) keeps it."""
    crashed = state.is_crashed()
    try:
        error = state.result(raise_on_failure=False)
    except Exception:
        error = None
    kind = getattr(error, "alert_kind", None) or (FLOW_CRASHED if crashed else FLOW_FAILED)
    alert = Alert(
        kind=kind,
        title=f"marketops {flow.name} {'crashed' if crashed else 'failed'}",
        summary=(state.message or state.type.value).strip().splitlines()[0][:1000]
        if (state.message or "").strip()
        else state.type.value,
        flow=flow.name,
        deployment=_deployment_name(),
        flow_run_id=str(flow_run.id),
        link=run_link(str(flow_run.id)),
        parameters=dict(flow_run.parameters or {}),
        details={"flow_run_name": flow_run.name, "state": state.type.value},
    )
    notify(load_settings(), alert)
