"""Backup snapshots: catalog rows, fingerprints, native BACKUP, restore drills, retention.

Decisions (which kind, which base, what retention deletes) come from :mod:`core.backup_policy`;
this module carries them out against the warehouse and the backup target.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from core.backup_policy import FULL, BackupRecord, RetentionPlan, backup_name, next_backup, retention
from core.errors import StorageError
from core.identifiers import check_sql_name
from storage.backups.target import BackupTarget
from storage.warm.base import Warehouse
from storage.warm.schema import BACKUP_TABLES

_TS = pl.Datetime("us", "UTC")


def load_records(warehouse: Warehouse) -> list[BackupRecord]:
    frame = warehouse.query_df(
        "SELECT name, kind, base, chain, status, started_at, finished_at FROM backups FINAL "
        "WHERE status != 'deleted' ORDER BY started_at"
    )
    return [BackupRecord(**row) for row in frame.iter_rows(named=True)]


def catalog(warehouse: Warehouse) -> pl.DataFrame:
    """Every catalog row (latest state per name), for listing."""
    return warehouse.query_df(
        "SELECT name, kind, base, chain, status, started_at, finished_at, size_bytes, rows, verified_at, detail "
        "FROM backups FINAL ORDER BY started_at"
    )


def save(warehouse: Warehouse, row: dict[str, Any]) -> None:
    """Write a catalog row; the newest ``updated_at`` wins (ReplacingMergeTree)."""
    full = {
        "name": row["name"],
        "kind": row["kind"],
        "base": row.get("base"),
        "chain": row["chain"],
        "location": row.get("location", ""),
        "status": row["status"],
        "started_at": row["started_at"],
        "finished_at": row.get("finished_at"),
        "size_bytes": int(row.get("size_bytes") or 0),
        "tables": list(row.get("tables") or []),
        "rows": int(row.get("rows") or 0),
        "verified_at": row.get("verified_at"),
        "detail": row.get("detail", ""),
        "updated_at": datetime.now(UTC),
    }
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "name": pl.String,
        "kind": pl.String,
        "base": pl.String,
        "chain": pl.String,
        "location": pl.String,
        "status": pl.String,
        "started_at": _TS,
        "finished_at": _TS,
        "size_bytes": pl.UInt64,
        "tables": pl.List(pl.String),
        "rows": pl.UInt64,
        "verified_at": _TS,
        "detail": pl.String,
        "updated_at": _TS,
    }
    warehouse.insert_df("backups", pl.DataFrame([full], schema=schema))


def record(warehouse: Warehouse, name: str) -> dict[str, Any] | None:
    frame = warehouse.query_df("SELECT * FROM backups FINAL WHERE name = {n:String}", {"n": name})
    return frame.row(0, named=True) if frame.height else None


def fingerprint(warehouse: Warehouse, database: str, tables: tuple[str, ...] | list[str]) -> pl.DataFrame:
    """Rows and an order-independent content hash per (table, partition); equal data, equal prints.

    ``sum(cityHash64(*))`` rather than xor, so two identical rows do not cancel each other out.
    """
    db = check_sql_name(database)
    frames = [
        warehouse.query_df(
            f"SELECT '{check_sql_name(t)}' AS table, _partition_id AS partition, count() AS rows, "
            f"sum(cityHash64(*)) AS hash "
            f"FROM {db}.{check_sql_name(t)} GROUP BY partition"
        )
        for t in tables
    ]
    schema = pl.Schema({"table": pl.String, "partition": pl.String, "rows": pl.UInt64, "hash": pl.UInt64})
    frames = [f.cast(schema) for f in frames if f.height]
    return pl.concat(frames).sort("table", "partition") if frames else pl.DataFrame(schema=schema)


def sweep_interrupted(warehouse: Warehouse, target: BackupTarget) -> list[str]:
    """A catalog row still 'running' belongs to a process that died mid-backup: broken unless
    ClickHouse finished writing it. Only one backup runs at a time (embedded lock / flow concurrency)."""
    swept = []
    for row in warehouse.query_df("SELECT * FROM backups FINAL WHERE status = 'running'").iter_rows(named=True):
        complete = target.is_complete(row["name"])
        save(
            warehouse,
            row
            | {
                "status": "created" if complete else "broken",
                "detail": "finished before its process died"
                if complete
                else "interrupted: no .backup metadata, never a base",
            },
        )
        swept.append(row["name"])
    return swept


@dataclass(frozen=True)
class SnapshotResult:
    name: str
    kind: str
    base: str | None
    size_bytes: int
    rows: int
    seconds: float


def take_snapshot(
    warehouse: Warehouse, target: BackupTarget, now: datetime, force_full: bool = False, full_every_h: float = 24.0
) -> SnapshotResult:
    """Full or incremental snapshot per policy; an incremental's base is proven complete first."""
    records = load_records(warehouse)
    kind, base = (FULL, None) if force_full else next_backup(records, now, timedelta(hours=full_every_h))
    if base is not None and not _chain_complete(base, records, target):
        kind, base = FULL, None  # a base we cannot prove whole is no base: start a new chain
    name = backup_name(kind, now)
    if record(warehouse, name) is not None:
        raise StorageError(f"a backup named {name} already exists; one snapshot per second at most")
    prints = fingerprint(warehouse, warehouse.database, BACKUP_TABLES)
    warehouse.insert_df(
        "backup_fingerprints", prints.select(pl.lit(name).alias("backup"), "table", "partition", "rows", "hash")
    )
    row: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "base": base.name if base else None,
        "chain": base.chain if base else name,
        "location": target.expression(name),
        "status": "running",
        "started_at": now,
        "tables": list(BACKUP_TABLES),
        "rows": int(prints["rows"].sum() or 0),
    }
    save(warehouse, row)
    started = time.perf_counter()
    try:
        target.write(warehouse, list(BACKUP_TABLES), name, base.name if base else None)
    except Exception as exc:
        save(warehouse, row | {"status": "broken", "detail": f"backup failed: {exc}"})
        target.delete(name)
        raise
    seconds = time.perf_counter() - started
    size = target.size_bytes(name)
    # finished_at on the caller's clock (now + elapsed), so retention decisions can be replayed
    save(warehouse, row | {"status": "created", "finished_at": now + timedelta(seconds=seconds), "size_bytes": size})
    return SnapshotResult(name, kind, row["base"], size, row["rows"], seconds)


def _chain_complete(base: BackupRecord, records: list[BackupRecord], target: BackupTarget) -> bool:
    """Every link from ``base`` back to its full is usable in the catalog and complete on disk."""
    by_name = {r.name: r for r in records}
    link = base
    while True:
        if not link.usable or not target.is_complete(link.name):
            return False
        if link.kind == FULL:
            return True
        if link.base not in by_name:
            return False
        link = by_name[link.base]


def drill_database(name: str) -> str:
    return check_sql_name("drill_" + name.replace("-", "_").lower())


def drill(warehouse: Warehouse, target: BackupTarget, name: str) -> tuple[bool, str]:
    """Restore ``name`` into a scratch database and compare per-partition rows and hashes with the
    fingerprints taken when it was made. Records ``verified_at`` or marks it ``unverified``."""
    row = record(warehouse, name)
    if row is None:
        raise StorageError(f"no backup named {name}")
    expected = warehouse.query_df(
        "SELECT table, partition, rows, hash FROM backup_fingerprints FINAL WHERE backup = {n:String} "
        "ORDER BY table, partition",
        {"n": name},
    )
    scratch = drill_database(name)
    warehouse.execute(f"DROP DATABASE IF EXISTS {scratch}")
    warehouse.execute(f"CREATE DATABASE {scratch}")
    try:
        target.restore_into(warehouse, list(row["tables"]), name, scratch)
        found = fingerprint(warehouse, scratch, row["tables"])
    except StorageError as exc:
        found, error = None, str(exc)
    finally:
        warehouse.execute(f"DROP DATABASE IF EXISTS {scratch}")
    if found is None:
        ok, detail = False, f"restore failed: {error}"
    else:
        diff = expected.join(found, on=["table", "partition"], how="full", suffix="_restored", coalesce=True).filter(
            (pl.col("rows") != pl.col("rows_restored"))
            | (pl.col("hash") != pl.col("hash_restored"))
            | pl.col("rows").is_null()
            | pl.col("rows_restored").is_null()
        )
        ok = diff.height == 0
        detail = "restored and matched" if ok else "mismatch: " + json.dumps(diff.head(10).to_dicts(), default=str)
    now = datetime.now(UTC)
    save(
        warehouse,
        row
        | {
            "status": "verified" if ok else "unverified",
            "verified_at": now if ok else None,
            "detail": f"{detail} ({int(expected['rows'].sum() or 0)} rows in {expected.height} partitions)",
        },
    )
    return ok, detail


def prune(
    warehouse: Warehouse,
    target: BackupTarget,
    now: datetime,
    keep_days: float,
    min_chains: int,
    max_chains: int,
    dry_run: bool,
) -> RetentionPlan:
    """Delete whole chains past retention and every broken snapshot; a dry run only reports."""
    plan = retention(load_records(warehouse), now, keep_days, min_chains, max_chains)
    if dry_run:
        return plan
    for doomed in plan.delete:
        target.delete(doomed.name)
        row = record(warehouse, doomed.name)
        if row is not None:
            save(warehouse, row | {"status": "deleted", "detail": f"retention ({row['status']} before)"})
    return plan


def restore_snapshot(
    warehouse: Warehouse,
    target: BackupTarget,
    name: str,
    tables: list[str] | None = None,
    partitions: list[str] | None = None,
    into: str | None = None,
    force: bool = False,
    swap: bool = False,
) -> dict[str, Any]:
    """Restore ``name`` into a shadow database (default ``restore_<name>``); optionally swap the
    restored tables into place with ``EXCHANGE TABLES`` (atomic per table; the replaced data stays
    in the shadow database as a way back)."""
    row = record(warehouse, name)
    if row is None or row["status"] in ("deleted", "broken", "running"):
        raise StorageError(f"backup {name} cannot be restored (status: {row['status'] if row else 'unknown'})")
    chosen = tables or list(row["tables"])
    unknown = sorted(set(chosen) - set(row["tables"]))
    if unknown:
        raise StorageError(f"backup {name} holds no table {', '.join(unknown)} (it holds {', '.join(row['tables'])})")
    shadow = check_sql_name(into or "restore_" + name.replace("-", "_").lower())
    warehouse.execute(f"CREATE DATABASE IF NOT EXISTS {shadow}")
    occupied = [t for t in chosen if _rows_in(warehouse, shadow, t)]
    if occupied and not force:
        raise StorageError(
            f"target {shadow} already holds data in {', '.join(occupied)}; pass --force to restore into it anyway"
        )
    target.restore_into(warehouse, chosen, name, shadow, partitions, allow_non_empty=force)
    counts = {t: _rows_in(warehouse, shadow, t) for t in chosen}
    if swap:
        for table in chosen:
            warehouse.execute(
                f"EXCHANGE TABLES {warehouse.database}.{check_sql_name(table)} AND {shadow}.{check_sql_name(table)}"
            )
    return {"backup": name, "into": shadow, "tables": counts, "swapped": swap}


def _rows_in(warehouse: Warehouse, database: str, table: str) -> int:
    exists = warehouse.query_scalar(
        "SELECT count() FROM system.tables WHERE database = {d:String} AND name = {t:String}",
        {"d": database, "t": table},
    )
    if not exists:
        return 0
    return int(warehouse.query_scalar(f"SELECT count() FROM {check_sql_name(database)}.{check_sql_name(table)}") or 0)


def backup_status(warehouse: Warehouse) -> dict[str, Any]:
    listed = catalog(warehouse).filter(pl.col("status") != "deleted")
    usable = listed.filter(pl.col("status").is_in(["created", "verified", "unverified"]))
    verified = listed.filter(pl.col("status") == "verified")
    return {
        "count": usable.height,
        "latest": usable["name"][-1] if usable.height else None,
        "latest_verified": verified["name"][-1] if verified.height else None,
        "broken": int(listed.filter(pl.col("status") == "broken").height),
    }
