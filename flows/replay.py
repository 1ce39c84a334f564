"""replay: load quarantined files again after a reader fix or an allowlist change, then re-validate their days."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from core.errors import ConfigError
from core.settings import load_settings
from flows.hooks import RUN_HOOKS
from flows.ingest import ingest
from flows.validate import validate
from tasks.replay import find_replayable, replayed_days


@flow(name="replay", **RUN_HOOKS)
def replay(paths: list[str] | None = None, since: date | None = None, revalidate: bool = True) -> dict[str, Any]:
    """Re-ingest quarantined files (``paths``, or every one ingested ``since``) with the options they were read with.

    Same file versions keep their source ids, so a bar loaded before and again is one bar
    (ReplacingMergeTree key), and rows that pass now leave quarantine.
    """
    if not paths and since is None:
        raise ConfigError("say which files to replay: --file PATH or --since DATE")
    logger = get_run_logger()
    settings = load_settings()
    found = find_replayable(settings, [str(Path(p).resolve()) for p in paths] if paths else None, since)
    missing = [f["path"] for f in found if not f["present"]]
    todo = [f for f in found if f["present"]]
    for path in missing:
        logger.warning("cannot replay %s: the source file is gone (its quarantined rows stay)", path)
    groups: dict[str, list[dict[str, Any]]] = {}  # one ingest per set of reader options
    for f in todo:
        groups.setdefault(json.dumps(f["options"], sort_keys=True), []).append(f)
    results: list[dict[str, Any]] = []
    for group in groups.values():
        opts = group[0]["options"]
        results.append(
            ingest(
                paths=[f["path"] for f in group],
                format=opts.get("format"),
                venue=opts.get("venue"),
                symbol=opts.get("symbol"),
                timezone=opts.get("timezone"),
                date_order=opts.get("date_order"),
                reprocess=True,
            )
        )
    validated = None
    days = replayed_days(settings, [f["source_id"] for f in todo]) if revalidate else None
    if days is not None:
        validated = validate(since=days[0], until=days[1])
    problems = [p for r in results for p in r.get("problems", [])]
    summary = {
        "problems": problems,
        "files_still_quarantined": sum(1 for p in problems if p["status"] == "quarantined"),
        "files_found": len(found),
        "files_replayed": len(todo),
        "files_missing": missing,
        "rows_loaded": sum(int(r.get("rows_loaded", 0)) for r in results),
        "rows_quarantined": sum(int(r.get("rows_quarantined", 0)) for r in results),
        "validated": validated["headline"] if validated else None,
    }
    logger.info("replayed %d of %d quarantined files (%d missing)", len(todo), len(found), len(missing))
    return summary
