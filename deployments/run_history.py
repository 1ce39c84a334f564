"""What the Prefect API knows about runs, for ``marketops status``: the last *finished* run of every flow and
deployment (state, start, end, duration, link) and, separately, each deployment's next scheduled run.

The newest run by expected start is usually a SCHEDULED one with no start time; on call one needs the
last run that actually ended, so finished and scheduled runs are asked for apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

FINAL_STATES = ["COMPLETED", "FAILED", "CRASHED", "CANCELLED"]


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> Any:
    response = client.post(path, json=body)
    response.raise_for_status()
    return response.json()


def _finished(run: dict[str, Any] | None, ui_url: str | None) -> dict[str, Any] | None:
    if run is None:
        return None
    start, end = run.get("start_time"), run.get("end_time")
    duration = None
    if start and end:
        duration = round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds(), 3)
    return {
        "state": run.get("state_type"),
        "state_name": run.get("state_name"),
        "start": start,
        "end": end,
        "duration_s": duration,
        "name": run.get("name"),
        "link": f"{ui_url.rstrip('/')}/runs/flow-run/{run['id']}" if ui_url else None,
    }


def run_history(api_url: str, ui_url: str | None, timeout_s: float = 10) -> dict[str, Any]:
    """``flows``: name -> last finished run; ``deployments``: name -> schedules, last finished, next scheduled."""
    finished = {"state": {"type": {"any_": FINAL_STATES}}}
    with httpx.Client(base_url=api_url, timeout=timeout_s) as client:
        flows = _post(client, "/flows/filter", {"limit": 200})
        deployments = _post(client, "/deployments/filter", {"limit": 200})
        by_flow = {}
        for flow in flows:
            runs = _post(
                client,
                "/flow_runs/filter",
                {"sort": "END_TIME_DESC", "limit": 1, "flows": {"id": {"any_": [flow["id"]]}}, "flow_runs": finished},
            )
            by_flow[flow["name"]] = {"last_finished": _finished(runs[0] if runs else None, ui_url)}
        by_deployment = {}
        for deployment in deployments:
            mine = {"deployment_id": {"any_": [deployment["id"]]}}
            done = _post(
                client, "/flow_runs/filter", {"sort": "END_TIME_DESC", "limit": 1, "flow_runs": {**mine, **finished}}
            )
            upcoming = _post(
                client,
                "/flow_runs/filter",
                {
                    "sort": "EXPECTED_START_TIME_ASC",
                    "limit": 1,
                    "flow_runs": {**mine, "state": {"type": {"any_": ["SCHEDULED"]}}},
                },
            )
            by_deployment[deployment["name"]] = {
                "schedules": [s.get("schedule", {}).get("cron") for s in deployment.get("schedules", [])],
                "last_finished": _finished(done[0] if done else None, ui_url),
                "next_scheduled": {
                    "expected_start": upcoming[0].get("expected_start_time"),
                    "name": upcoming[0]["name"],
                }
                if upcoming
                else None,
            }
    return {"flows": by_flow, "deployments": by_deployment}
