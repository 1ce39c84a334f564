"""Data-quality reports on disk: one HTML file per validate run plus ``latest.html``, written atomically."""

from __future__ import annotations

from pathlib import Path

from storage.atomic import write_atomic

LATEST = "latest.html"


def write_report(reports_dir: Path, name: str, document: str) -> Path:
    """``<reports_dir>/<name>`` and ``latest.html`` (same content, so relative links work from both)."""
    data = document.encode()
    path = write_atomic(reports_dir / name, data)
    write_atomic(reports_dir / LATEST, data)
    return path


def latest_report(reports_dir: Path) -> Path | None:
    path = reports_dir / LATEST
    return path if path.exists() else None
