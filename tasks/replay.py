"""Replay tasks: find the quarantined files to load again, and the days they cover."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from prefect import task

from core.settings import Settings
from storage.warm import open_warehouse
from storage.warm.quarantine import quarantined_files, quarantined_span
from tasks.retry import task_options


@task(name="find_replayable", **task_options())
def find_replayable(settings: Settings, paths: list[str] | None, since: date | None) -> list[dict[str, Any]]:
    """path, source_id, the reader ``options`` of its first load, and whether the file is still ``present``."""
    with open_warehouse(settings) as warehouse:
        # A named file is replayed whatever its status (re-judging a loaded one is harmless and re-validates
        # its days, which is how an allowlist change reaches its warnings); --since takes quarantined ones.
        found = quarantined_files(warehouse, since=since, paths=paths, loaded_too=bool(paths))
    return [
        {
            "path": r["path"],
            "source_id": r["source_id"],
            "options": json.loads(r["read_options"] or "{}"),
            "present": Path(r["path"]).exists(),
        }
        for r in found.select("path", "source_id", "read_options").iter_rows(named=True)
    ]


@task(name="replayed_days", **task_options())
def replayed_days(settings: Settings, source_ids: list[int]) -> tuple[date, date] | None:
    with open_warehouse(settings) as warehouse:
        first, last = quarantined_span(warehouse, source_ids)
    return (first.date(), last.date()) if first and last else None
