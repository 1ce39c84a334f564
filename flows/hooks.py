"""State hooks shared by every flow: a failed or crashed run always leaves a line in the alert log."""

from __future__ import annotations

from typing import Any

from core.settings import load_settings
from storage.alerts import AlertLog


def alert_on_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Record the failure; webhook/Slack/apprise delivery is added by the orchestration issue."""
    settings = load_settings()
    AlertLog(settings.alerts_log).append(
        {
            "kind": "flow_failed" if not state.is_crashed() else "flow_crashed",
            "flow": flow.name,
            "flow_run_id": str(flow_run.id),
            "flow_run_name": flow_run.name,
            "parameters": flow_run.parameters,
            "state": state.type.value,
            "error": (state.message or "")[:2000],
        }
    )
