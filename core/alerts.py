"""Alerts as data: what happened, where to look, and the payload each channel expects."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl

FLOW_FAILED = "flow_failed"
FLOW_CRASHED = "flow_crashed"
DQ_PASS_RATE = "dq_pass_rate"
RESTORE_DRILL_FAILED = "restore_drill_failed"
STALE_DATA = "stale_data"


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
    parameters: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def dedup_key(self) -> str:
        """Same kind, same source, same subject, same message: the same alert."""
        return "|".join([self.kind, self.deployment or self.flow or "", self.subject, self.summary[:300]])

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


def should_send(last_sent: datetime | None, now: datetime, window: timedelta) -> bool:
    """Fold repeats: an alert already sent within ``window`` is recorded, not sent again."""
    return last_sent is None or now - last_sent >= window


def stale_symbols(latest: pl.DataFrame, now: datetime, max_age: timedelta) -> pl.DataFrame:
    """(venue, symbol, last_ts) rows whose newest bar is older than ``max_age``."""
    return latest.filter(pl.col("last_ts") < now - max_age).sort("venue", "symbol")
