"""backup: a native snapshot (full daily, incremental every 6 h), a restore drill, then retention."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from core.alerts import RESTORE_DRILL_FAILED
from core.errors import MarketopsError
from core.settings import load_settings
from flows import events
from flows.guards import warehouse_maintenance
from flows.hooks import RUN_HOOKS
from tasks.maintenance import list_backups, prune_backups, sweep_backups, take_backup, verify_backup
from tasks.retry import with_retry_policy
from tasks.setup import ensure_schema


class RestoreDrillFailed(MarketopsError):
    """The snapshot was written but could not be restored to identical content."""

    alert_kind = RESTORE_DRILL_FAILED


@flow(name="backup", **RUN_HOOKS)
def backup(full: bool = False, verify: bool = True, prune: bool = True) -> dict[str, Any]:
    """Snapshot the warm tier, prove it restores, and drop whole chains past retention."""
    logger = get_run_logger()
    settings = load_settings()
    with_retry_policy(ensure_schema, settings)(settings)
    with warehouse_maintenance(settings, logger=logger):  # never at the same time as an optimize of this warehouse
        checked = with_retry_policy(sweep_backups, settings)(settings)
        swept = checked["swept"]
        if swept:
            logger.warning("marked interrupted backups: %s", swept)
        for item in checked["broken"]:
            logger.warning("backup %s is broken: %s", item["name"], item["problem"])
        snapshot = with_retry_policy(take_backup, settings)(settings, full, datetime.now(UTC))
        logger.info(
            "%s snapshot %s (base %s): %s bytes; why: %s",
            snapshot["kind"],
            snapshot["name"],
            snapshot["base"],
            snapshot["size_bytes"],
            snapshot["reason"],
        )
        drill = (
            with_retry_policy(verify_backup, settings)(settings, snapshot["name"])
            if verify
            else {"verified": None, "detail": "skipped"}
        )
        retention = (
            with_retry_policy(prune_backups, settings)(settings, datetime.now(UTC), dry_run=False)
            if prune
            else {"keep": [], "delete": []}
        )
    summary = {
        "snapshot": snapshot,
        "drill": drill,
        "swept": swept,
        "broken": [item["name"] for item in checked["broken"]],
        "deleted": retention["delete"],
        "kept": len(retention["keep"]),
    }
    create_markdown_artifact(
        key="backup-summary",
        markdown=(
            f"# Backup {snapshot['name']}\n\n"
            f"- kind: {snapshot['kind']} (base: {snapshot['base']}; {snapshot['reason']})\n"
            f"- size: {snapshot['size_bytes']:,} bytes\n"
            f"- rows: {snapshot['rows']:,}\n- restore drill: {drill['detail']}\n"
            f"- deleted by retention: {retention['delete'] or 'nothing'}\n"
        ),
    )
    create_table_artifact(
        key="backup-catalog",
        table=with_retry_policy(list_backups, settings)(settings),
        description="Every snapshot and its state",
    )
    create_link_artifact(
        key="backup-location", link=snapshot["location"], link_text=f"{snapshot['name']} ({snapshot['kind']})"
    )
    events.backup_drill(settings, snapshot, drill)
    if verify and not drill["verified"]:
        raise RestoreDrillFailed(f"backup {snapshot['name']} did not pass its restore drill: {drill['detail']}")
    return summary
