"""Alerts as data: what happened, where to look, and the payload each channel expects."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl

FLOW_FAILED = "flow_failed"
FLOW_CRASHED = "flow_crashed"
DQ_PASS_RATE = "dq_pass_rate"
RESTORE_DRILL_FAILED = "restore_drill_failed"
STALE_DATA = "stale_data"
RESOLVED = "resolved"
RUN_FAILURE_KINDS = frozenset({FLOW_FAILED, FLOW_CRASHED})

# What varies between two reports of the same fault: ids, times, counts, addresses. Order matters:
# whole UUIDs and timestamps before the bare numbers inside them.
_VOLATILE = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I), "<id>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"), "<ts>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "<date>"),
    (re.compile(r"\b\d{8}T\d{6,12}Z?\b"), "<ts>"),
    (re.compile(r"\b(0x)?[0-9a-f]{12,}\b", re.I), "<hex>"),
    (re.compile(r"\d+(\.\d+)?"), "<n>"),
    (re.compile(r"\s+"), " "),
]


def normalise_message(text: str) -> str:
    """The message with ids, timestamps and numbers replaced by placeholders, so repeats compare equal.

    A ClickHouse outage reports a fresh query id (and often a new elapsed time) on every run; its
    meaning, and so its fingerprint, stays the same.
    """
    out = text.strip()
    for pattern, placeholder in _VOLATILE:
        out = pattern.sub(placeholder, out)
    return out[:500]


@dataclass(frozen=True)
class Alert:
    kind: str
    title: str
    summary: str  # one line: the error or the breach, never a secret
    flow: str | None = None
    deployment: str | None = None
    flow_run_id: str | None = None
    link: str | None = None  # the run in the Prefect UI
    subject: str = ""  # what it is about when not a whole run, e.g. "binance:BTCUSDT"
    error_class: str = ""  # the exception type behind a failed run, when known
    parameters: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """Stable identity of the fault: kind, flow, deployment, error class, subject and the normalised message.

        Run ids, query ids, timestamps and counts never reach it, so a repeat of the same fault folds.
        """
        parts = [
            self.kind,
            self.flow or "",
            self.deployment or "",
            self.error_class,
            self.subject,
            normalise_message(self.summary),
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]

    def dedup_key(self) -> str:
        return self.fingerprint()

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def slack_payload(alert: Alert) -> dict[str, Any]:
    """Slack incoming-webhook JSON (``text`` plus blocks)."""
    where = " / ".join(x for x in (alert.deployment or alert.flow, alert.subject) if x)
    text = f":rotating_light: *{alert.title}*" + (f" ({where})" if where else "") + f"\n{alert.summary}"
    if alert.link:
        text += f"\n<{alert.link}|Open the run>"
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def plain_text(alert: Alert) -> tuple[str, str]:
    """(title, body) for apprise-style channels."""
    body = alert.summary + (f"\n{alert.link}" if alert.link else "")
    return alert.title, body


def resolved_alert(flow: str, deployment: str | None, open_failures: list[dict[str, Any]], link: str | None) -> Alert:
    """The all-clear for a flow whose failures were alerted: what failed, how often, since when."""
    first = min(str(f.get("first_at", "")) for f in open_failures)
    count = sum(int(f.get("count", 1)) for f in open_failures)
    lines = "; ".join(str(f.get("summary", ""))[:200] for f in open_failures[:3])
    return Alert(
        kind=RESOLVED,
        title=f"marketops {flow} recovered",
        summary=f"{flow} succeeded again after {count} failed run(s) since {first}: {lines}",
        flow=flow,
        deployment=deployment,
        link=link,
        details={"resolved": [f.get("fingerprint") for f in open_failures]},
    )


def should_send(last_sent: datetime | None, now: datetime, window: timedelta) -> bool:
    """Fold repeats: an alert already sent within ``window`` is recorded, not sent again."""
    return last_sent is None or now - last_sent >= window


def stale_symbols(latest: pl.DataFrame, now: datetime, max_age: timedelta) -> pl.DataFrame:
    """(venue, symbol, last_ts) rows whose newest bar is older than ``max_age``."""
    return latest.filter(pl.col("last_ts") < now - max_age).sort("venue", "symbol")
