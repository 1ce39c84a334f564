"""Report tasks: the link a report artifact should carry."""

from __future__ import annotations

from pathlib import Path

from prefect import task

from core.report_links import ReportLink, report_link
from core.settings import Settings
from storage.report_server import served_url
from tasks.retry import task_options


@task(name="report_link", **task_options())
def link_report(settings: Settings, path: str) -> ReportLink:
    """``http://`` on the reports server while one runs, else ``file://`` (and the link says why)."""
    return report_link(Path(path), settings.reports_dir, served_url(settings))
