"""State hooks shared by every flow: alert once per failed or crashed run, all-clear when the flow next
succeeds, and a run lease so a run killed outright (SIGKILL) still ends CRASHED and alerts.

Attach them with ``@flow(..., **RUN_HOOKS)``.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from core.alerts import FLOW_CRASHED, FLOW_FAILED, Alert
from core.settings import Settings, load_settings
from storage import run_leases
from storage.alerts import resolve
from tasks.alerts import notify_run_failure

_log = logging.getLogger(__name__)


def run_link(flow_run_id: str) -> str | None:
    """The run's page in the Prefect UI, when a UI address is known."""
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    base = settings.ui_url or (settings.api.url.removesuffix("/api") if settings.api.url else None)
    return f"{base.rstrip('/')}/runs/flow-run/{flow_run_id}" if base else None


def _deployment_name(flow_run: Any) -> str | None:
    """The run's deployment, or None for an ad-hoc run — known from the run itself, without asking the API.

    ``prefect.runtime.deployment`` reads the flow run back from the API to learn that an ad-hoc run has no
    deployment (one round trip per hook); the hooks are handed the run, which says it."""
    if getattr(flow_run, "deployment_id", None) is None:
        return None
    from prefect.runtime import deployment

    try:
        return deployment.name
    except Exception:
        return None


def _leases_dir(settings: Settings) -> Any:
    return settings.home_dir / "run-leases"


def alert_on_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """One alert per failed/crashed run; an error that names its own kind (``alert_kind``) keeps it."""
    settings = load_settings()
    run_leases.release(_leases_dir(settings), str(flow_run.id))
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
        deployment=_deployment_name(flow_run),
        flow_run_id=str(flow_run.id),
        link=run_link(str(flow_run.id)),
        error_class=type(error).__name__ if isinstance(error, BaseException) else "",
        parameters=dict(flow_run.parameters or {}),
        details={"flow_run_name": flow_run.name, "state": state.type.value},
    )
    notify_run_failure(settings, alert)


def resolve_on_success(flow: Any, flow_run: Any, state: Any) -> None:
    """Release the lease; if this flow's failures were alerted and are still open, send the all-clear."""
    settings = load_settings()
    run_leases.release(_leases_dir(settings), str(flow_run.id))
    resolve(settings, flow.name, _deployment_name(flow_run), run_link(str(flow_run.id)))


def take_lease(flow: Any, flow_run: Any, state: Any) -> None:
    """Record that this process runs ``flow_run``; settle runs whose process died first."""
    settings = load_settings()
    reap_orphaned_runs(settings)
    run_leases.take(
        _leases_dir(settings),
        run_leases.RunLease(
            flow_run_id=str(flow_run.id),
            flow=flow.name,
            deployment=_deployment_name(flow_run),
            pid=os.getpid(),
            host=run_leases.this_host(),
            started_at=datetime.now(UTC).isoformat(),
            parameters={k: str(v)[:200] for k, v in (flow_run.parameters or {}).items()},
        ),
    )


def reap_orphaned_runs(settings: Settings) -> list[str]:
    """Runs whose process is gone without a final state: mark them CRASHED in Prefect and alert.

    Returns the flow run ids settled. A run the API already shows final (e.g. a worker reported it)
    only loses its lease.
    """
    from prefect.client.orchestration import get_client
    from prefect.states import Crashed

    settled = []
    for lease in run_leases.orphaned(_leases_dir(settings)):
        message = (
            f"process {lease.pid} on {lease.host} ended without reporting a final state "
            f"(killed or lost) — run started {lease.started_at}"
        )
        try:
            with get_client(sync_client=True) as client:
                run = client.read_flow_run(UUID(lease.flow_run_id))
                if run.state is not None and run.state.is_final():
                    run_leases.release(_leases_dir(settings), lease.flow_run_id)
                    continue
                client.set_flow_run_state(UUID(lease.flow_run_id), Crashed(message=message), force=True)
        except Exception as exc:  # the API may be another one now (a temporary server): still alert once
            _log.warning("could not mark flow run %s crashed in Prefect: %s", lease.flow_run_id, exc)
        notify_run_failure(
            settings,
            Alert(
                kind=FLOW_CRASHED,
                title=f"marketops {lease.flow} crashed",
                summary=message,
                flow=lease.flow,
                deployment=lease.deployment,
                flow_run_id=lease.flow_run_id,
                link=run_link(lease.flow_run_id),
                error_class="ProcessGone",
                parameters=lease.parameters,
                details={"reaped": True},
            ),
        )
        run_leases.release(_leases_dir(settings), lease.flow_run_id)
        settled.append(lease.flow_run_id)
    return settled


RUN_HOOKS: dict[str, Any] = {
    "on_running": [take_lease],
    "on_completion": [resolve_on_success],
    "on_failure": [alert_on_failure],
    "on_crashed": [alert_on_failure],
}
