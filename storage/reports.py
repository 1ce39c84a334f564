"""Data-quality reports on disk: one HTML file per validate run, ``latest.html``, and an index of all of them.

``latest.html`` is the latest *daily* run: the report of the newest one-day range (the daily job's
range), newest run first. Re-validating an old day (a replay of 1970-01-01) or a long range (a 10-year
backfill ending yesterday) adds a report to the index but never replaces it; a multi-day range is latest
only while no daily report exists. Shared static files (plotly.js) live once under ``assets/`` and are
referenced by every report. Every file is written atomically.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from storage.atomic import write_atomic

LATEST = "latest.html"
INDEX = "index.html"
_ENTRIES = "index.json"


def read_index(reports_dir: Path) -> list[dict[str, Any]]:
    path = reports_dir / _ENTRIES
    if not path.exists():
        return []
    try:
        return list(json.loads(path.read_text()))
    except ValueError:
        return []


def _rank(entry: dict[str, Any]) -> tuple[bool, str, str]:
    """Daily ranges first, then the newest range, then the newest run."""
    return entry["first"] == entry["last"], entry["last"], entry.get("generated_at", "")


def ensure_asset(reports_dir: Path, relative: str, source: Path) -> Path:
    """``<reports_dir>/<relative>`` as a copy of ``source``, written only when missing or different in size."""
    target = reports_dir / relative
    if target.exists() and target.stat().st_size == source.stat().st_size:
        return target
    return write_atomic(target, source.read_bytes())


def write_report(
    reports_dir: Path,
    name: str,
    document: str,
    entry: dict[str, Any] | None = None,
    render_index: Callable[[list[dict[str, Any]]], str] | None = None,
) -> Path:
    """``<reports_dir>/<name>``, its line in the index, and ``latest.html`` when its range is the newest.

    ``entry``: first, last (ISO days), state, headline, generated_at, run_id; ``render_index`` turns the
    entries into ``index.html`` (the validation package owns the HTML). Without an entry (older callers)
    the report becomes latest unconditionally.
    """
    data = document.encode()
    path = write_atomic(reports_dir / name, data)
    entries = [e for e in read_index(reports_dir) if e.get("name") != name]
    current = max(entries, key=_rank) if entries else None
    if entry is not None:
        entries.append({**entry, "name": name})
        write_atomic(reports_dir / _ENTRIES, json.dumps(entries, default=str).encode())
        if render_index is not None:
            write_atomic(reports_dir / INDEX, render_index(entries).encode())
    if entry is None or current is None or _rank(entry) >= _rank(current):
        write_atomic(reports_dir / LATEST, data)
    return path


def latest_report(reports_dir: Path) -> Path | None:
    path = reports_dir / LATEST
    return path if path.exists() else None
