"""Maintenance tasks: optimize partitions, take/verify/prune backup snapshots. Thin calls into storage."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import task
from prefect.assets import materialize

from core.optimize_plan import plan_partitions
from core.settings import Settings
from storage.backups import snapshots as backups
from storage.backups.factory import backup_target, owner_of
from storage.warm import open_warehouse
from storage.warm.optimize import last_optimized, log_results, optimize_partition, part_stats
from storage.warm.schema import BACKUP_TABLES, OPTIMIZE_TABLES
from tasks.lineage import BACKUPS, warm
from tasks.retry import task_options
from validation.contracts import enforce
from validation.contracts_tiers import BackupCatalog

_OPTIONS = task_options(5.0)


@task(name="plan_optimize", **_OPTIONS)
def plan_optimize(settings: Settings) -> list[dict[str, Any]]:
    with open_warehouse(settings) as warehouse:
        return plan_partitions(part_stats(warehouse, OPTIMIZE_TABLES), last_optimized(warehouse)).to_dicts()


@task(name="optimize_partitions", **_OPTIONS)
def optimize_partitions(
    settings: Settings, planned: list[dict[str, Any]], deadline: datetime | None, run_id: str
) -> list[dict[str, Any]]:
    """One partition at a time (each OPTIMIZE FINAL rewrites a whole partition); stop at the deadline.

    Each partition is logged as soon as it is done; a retry after a fault finds those already at one
    part and skips them.
    """
    results: list[dict[str, Any]] = []
    with open_warehouse(settings) as warehouse:
        for item in planned:
            if deadline is not None and datetime.now(UTC) >= deadline:
                results.append(item | {"status": "cutoff"})
                continue
            result = optimize_partition(
                warehouse, item["table"], item["partition"], settings.clickhouse_cluster, settings.optimize_merge_wait_s
            )
            if result.status == "done":
                log_results(warehouse, [result], run_id)
            results.append(result.as_dict())
    return results


@task(name="sweep_backups", **_OPTIONS)
def sweep_backups(settings: Settings) -> dict[str, Any]:
    """Interrupted snapshots settled, then every kept one checked structurally (missing data or base: broken)."""
    target = backup_target(settings)
    with open_warehouse(settings) as warehouse:
        owner = owner_of(settings, target)
        swept = backups.sweep_interrupted(warehouse, target, owner)
        broken = backups.check_chains(warehouse, target, owner)
    return {"swept": swept, "broken": broken}


@materialize(BACKUPS, asset_deps=[warm(t) for t in BACKUP_TABLES], name="take_backup", **_OPTIONS)
def take_backup(settings: Settings, full: bool, now: datetime) -> dict[str, Any]:
    target = backup_target(settings)
    with open_warehouse(settings) as warehouse:
        result = backups.take_snapshot(
            warehouse,
            target,
            now,
            force_full=full,
            full_every_h=settings.backup_full_every_h,
            owner=owner_of(settings, target),
        )
    return result.__dict__ | {"location": target.location(result.name)}


@task(name="verify_backup", **_OPTIONS)
def verify_backup(settings: Settings, name: str) -> dict[str, Any]:
    target = backup_target(settings)
    with open_warehouse(settings) as warehouse:
        ok, detail = backups.drill(warehouse, target, name, owner_of(settings, target))
    return {"name": name, "verified": ok, "detail": detail}


@task(name="prune_backups", **_OPTIONS)
def prune_backups(settings: Settings, now: datetime, dry_run: bool) -> dict[str, list[str]]:
    target = backup_target(settings)
    with open_warehouse(settings) as warehouse:
        plan = backups.prune(
            warehouse,
            target,
            now,
            settings.backup_keep_days,
            settings.backup_min_chains,
            settings.backup_max_chains,
            dry_run,
            owner_of(settings, target),
        )
    return {"keep": [r.name for r in plan.keep], "delete": [r.name for r in plan.delete]}


@task(name="list_backups", **_OPTIONS)
def list_backups(settings: Settings) -> list[dict[str, Any]]:
    """The catalog as rows of text, for a table artifact; every row checked against its contract first."""
    with open_warehouse(settings) as warehouse:
        frame = enforce(BackupCatalog, backups.catalog(warehouse))
    frame = frame.select("name", "kind", "base", "status", "size_bytes", "rows", "verified_at")
    return [{k: "" if v is None else str(v) for k, v in row.items()} for row in frame.to_dicts()]
