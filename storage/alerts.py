"""Alert delivery: the local alert log (always), JSON and Slack webhooks, apprise URLs.

Delivery never raises: an alert that cannot be sent is itself written to the log, so a broken
webhook never hides the failure it was reporting. Repeats within the fold window are logged with
``folded: true`` and not sent again.
"""

from __future__ import annotations

import fcntl
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from core.alerts import Alert, plain_text, should_send, slack_payload
from core.settings import Settings


class AlertLog:
    """One JSON object per line in ``$MARKETOPS_HOME/alerts.jsonl``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, alert: dict[str, Any]) -> None:
        """One ``O_APPEND`` write per alert, so concurrent writers never interleave lines."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"at": datetime.now(UTC).isoformat(), **alert}, default=str) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]


class FoldState:
    """When each alert key was last sent, shared by every process of one home (file + flock)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def claim(self, key: str, now: datetime, window: timedelta) -> bool:
        """True when the caller should send; records the send atomically with the decision."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            try:
                state: dict[str, str] = json.loads(handle.read() or "{}")
            except ValueError:
                state = {}
            last = datetime.fromisoformat(state[key]) if key in state else None
            send = should_send(last, now, window)
            if send:
                state[key] = now.isoformat()
                handle.seek(0)
                handle.truncate()
                handle.write(json.dumps(state))
            return send


def _post(url: str, payload: dict[str, Any], timeout_s: float) -> None:
    response = httpx.post(url, json=payload, timeout=timeout_s)
    response.raise_for_status()


def deliver(settings: Settings, alert: Alert, now: datetime | None = None) -> dict[str, Any]:
    """Send ``alert`` to every configured channel once per fold window; always log it."""
    now = now or datetime.now(UTC)
    log = AlertLog(settings.alerts_log)
    send = FoldState(settings.home_dir / "alerts-state.json").claim(
        alert.dedup_key(), now, timedelta(seconds=settings.alert_fold_window_s)
    )
    errors: list[str] = []
    sent: list[str] = []
    if send:
        for index, url in enumerate(settings.alert_webhook_urls):
            _attempt(
                errors,
                sent,
                f"webhook#{index}",
                lambda u=url: _post(u, {"alert": alert.as_json()}, settings.alert_timeout_s),
            )
        for index, url in enumerate(settings.alert_slack_webhook_urls):
            _attempt(
                errors, sent, f"slack#{index}", lambda u=url: _post(u, slack_payload(alert), settings.alert_timeout_s)
            )
        if settings.alert_apprise_urls:
            _attempt(errors, sent, "apprise", lambda: _apprise(settings.alert_apprise_urls, alert))
    entry = alert.as_json() | {"folded": not send, "sent_to": sent, "delivery_errors": errors}
    log.append(entry)
    return entry


def _attempt(errors: list[str], sent: list[str], channel: str, action: Any) -> None:
    try:
        action()
        sent.append(channel)
    except Exception as exc:
        errors.append(f"{channel}: {type(exc).__name__}: {str(exc)[:200]}")  # channel index only: URLs may hold tokens


def _apprise(urls: list[str], alert: Alert) -> None:
    import apprise

    notifier = apprise.Apprise()
    for url in urls:
        notifier.add(url)
    title, body = plain_text(alert)
    if not notifier.notify(title=title, body=body):
        raise RuntimeError("apprise reported a failed notification")
