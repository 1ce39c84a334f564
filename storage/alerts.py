"""Alert delivery: the local alert log (always), JSON and Slack webhooks, apprise URLs.

Delivery never raises: an alert that cannot be sent is itself written to the log, so a broken
webhook never hides the failure it was reporting. Repeats of one fingerprint within the fold window
after a *delivered* alert are logged with ``folded: true`` and not sent again; a failed run stays open
until its flow next succeeds, which sends one ``resolved`` notification.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from core.alerts import Alert, plain_text, resolved_alert, should_send, slack_payload
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
    """Per alert fingerprint: when it was last *delivered*, and the open run failures awaiting an all-clear.

    Shared by every process of one home (a JSON file under an flock). The lock is held across the
    delivery itself, so two processes never both send one fold window's alert, and a window is only
    consumed by a delivery that reached at least one channel.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def locked(self) -> Iterator[dict[str, dict[str, Any]]]:
        """The state, exclusively; whatever the block leaves in it is written back."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            try:
                raw: dict[str, Any] = json.loads(handle.read() or "{}")
            except ValueError:
                raw = {}
            # an entry of the older format was only the time of the last send
            state = {k: (v if isinstance(v, dict) else {"sent_at": v}) for k, v in raw.items()}
            yield state
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(state, default=str))


def _post(url: str, payload: dict[str, Any], timeout_s: float) -> None:
    response = httpx.post(url, json=payload, timeout=timeout_s)
    response.raise_for_status()


def _channels(settings: Settings) -> int:
    return len(settings.alert_webhook_urls) + len(settings.alert_slack_webhook_urls) + bool(settings.alert_apprise_urls)


def _send(settings: Settings, alert: Alert) -> tuple[list[str], list[str]]:
    errors: list[str] = []
    sent: list[str] = []
    for index, url in enumerate(settings.alert_webhook_urls):
        _attempt(
            errors,
            sent,
            f"webhook#{index}",
            lambda u=url: _post(u, {"alert": alert.as_json()}, settings.alert_timeout_s),
        )
    for index, url in enumerate(settings.alert_slack_webhook_urls):
        _attempt(errors, sent, f"slack#{index}", lambda u=url: _post(u, slack_payload(alert), settings.alert_timeout_s))
    if settings.alert_apprise_urls:
        _attempt(errors, sent, "apprise", lambda: _apprise(settings.alert_apprise_urls, alert))
    return sent, errors


def _fold_state(settings: Settings) -> FoldState:
    return FoldState(settings.home_dir / "alerts-state.json")


def deliver(settings: Settings, alert: Alert, now: datetime | None = None, run_failure: bool = False) -> dict[str, Any]:
    """Send ``alert`` to every configured channel once per fold window; always log it.

    A repeat is folded only when an earlier one was delivered within the window: if every channel
    failed, the window stays open and the next repeat is sent. ``run_failure`` marks a failed or
    crashed flow run, which stays open until :func:`resolve` sees the flow succeed.
    """
    now = now or datetime.now(UTC)
    window = timedelta(seconds=settings.alert_fold_window_s)
    key = alert.fingerprint()
    with _fold_state(settings).locked() as state:
        entry = state.get(key, {})
        last = datetime.fromisoformat(entry["sent_at"]) if entry.get("sent_at") else None
        send = should_send(last, now, window)
        sent, errors = _send(settings, alert) if send else ([], [])
        if send and (sent or _channels(settings) == 0):  # delivered (or the log is the only channel)
            entry["sent_at"] = now.isoformat()
        if run_failure and alert.flow:
            entry.update(
                flow=alert.flow,
                deployment=alert.deployment,
                summary=alert.summary[:300],
                open=True,
                first_at=entry.get("first_at") if entry.get("open") else now.isoformat(),
                count=int(entry.get("count", 0)) + 1 if entry.get("open") else 1,
            )
        if entry:
            state[key] = entry
    line = alert.as_json() | {
        "fingerprint": key,
        "folded": not send,
        "sent_to": sent,
        "delivery_errors": errors,
    }
    AlertLog(settings.alerts_log).append(line)
    return line


def resolve(
    settings: Settings, flow: str, deployment: str | None, link: str | None = None, now: datetime | None = None
) -> dict[str, Any] | None:
    """After a successful run: close the flow's open run failures and send one ``resolved`` notification.

    Returns the logged resolution, or None when nothing was open. Closing forgets the fold window,
    so the next failure of that flow pages at once.
    """
    with _fold_state(settings).locked() as state:
        mine = [
            {"fingerprint": k, **v}
            for k, v in state.items()
            if v.get("open") and v.get("flow") == flow and v.get("deployment") == deployment
        ]
        if not mine:
            return None
        alert = resolved_alert(flow, deployment, mine, link)
        sent, errors = _send(settings, alert)
        for item in mine:
            del state[item["fingerprint"]]
    line = alert.as_json() | {
        "fingerprint": alert.fingerprint(),
        "folded": False,
        "sent_to": sent,
        "delivery_errors": errors,
    }
    AlertLog(settings.alerts_log).append(line)
    return line


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
