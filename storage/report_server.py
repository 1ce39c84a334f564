"""The local reports server: a static HTTP server over ``$MARKETOPS_HOME/reports`` on 127.0.0.1.

``marketops up`` starts it beside the Prefect server and records it here; flows ask ``served_url`` before
they link a report, so a link is ``http://`` only while a server really answers."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from core.settings import Settings

RECORD = "reports-server.json"


def command(root: Path, port: int) -> list[str]:
    """Python's own static server: no dependency, read-only, bound to loopback only."""
    return [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(root)]


def url_for(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def record(settings: Settings, pid: int, url: str) -> None:
    (settings.home_dir / RECORD).write_text(json.dumps({"pid": pid, "url": url, "root": str(settings.reports_dir)}))


def clear(settings: Settings) -> None:
    (settings.home_dir / RECORD).unlink(missing_ok=True)


def answers(url: str, timeout_s: float = 1.0) -> bool:
    import httpx  # here: importing this module (every CLI command does) must not load an HTTP client

    try:
        return httpx.get(url, timeout=timeout_s).status_code < 500
    except httpx.HTTPError:
        return False


def served_url(settings: Settings) -> str | None:
    """The running reports server's base URL, or None (no record, process gone, or not answering)."""
    path = settings.home_dir / RECORD
    try:
        info = json.loads(path.read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(info["url"]) if answers(str(info["url"])) else None
