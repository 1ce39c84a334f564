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

from core.backup_policy import (
    FULL,
    BackupRecord,
    NextBackup,
    RetentionPlan,
    backup_name,
    chains,
    plan_backup,
    retention,
)
from core.errors import StorageError
from core.identifiers import check_sql_name
from storage.backups.target import BackupTarget, Owner
from storage.warm.base import Warehouse
from storage.warm.schema import BACKUP_TABLES

_TS = pl.Datetime("us", "UTC")


def load_records(warehouse: Warehouse) -> list[BackupRecord]:
    frame = warehouse.query_df(
        "SELECT name, kind, base, chain, status, started_at, finished_at, location "
        "FROM backups FINAL WHERE status != 'deleted' ORDER BY started_at"
    )
    return [BackupRecord(**row) for row in frame.iter_rows(named=True)]


def _owner(target: BackupTarget, owner: Owner | None) -> Owner:
    """Which target holds a snapshot, by its recorded location; the current one when nobody says otherwise."""
    return owner or (lambda _location: target)


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
    engines = dict(
        warehouse.query_df(
            "SELECT name, engine FROM system.tables WHERE database = {db:String}", {"db": db}
        ).iter_rows()
    )
    frames = [
        warehouse.query_df(
            f"SELECT '{check_sql_name(t)}' AS table, _partition_id AS partition, count() AS rows, "
            f"sum(cityHash64(*)) AS hash "
            f"FROM {db}.{check_sql_name(t)}{_logical(engines, t)} GROUP BY partition"
        )
        for t in tables
    ]
    schema = pl.Schema({"table": pl.String, "partition": pl.String, "rows": pl.UInt64, "hash": pl.UInt64})
    frames = [f.cast(schema) for f in frames if f.height]
    return pl.concat(frames).sort("table", "partition") if frames else pl.DataFrame(schema=schema)


def _logical(engines: dict[str, str], table: str) -> str:
    """``FINAL`` where a merge may fold rows (Replacing, Collapsing, … MergeTree; on a cluster, of the shard table).

    A background merge between the fingerprint and the BACKUP (a run's 'running' and 'completed' rows folding
    into one) changes the physical rows but not the data: the drill compares what readers see."""
    engine = engines.get(f"{table}_local") or engines.get(table, "")
    folding = ("Replacing", "Collapsing", "Aggregating", "Summing")
    return " FINAL" if engine.endswith("MergeTree") and any(kind in engine for kind in folding) else ""


def sweep_interrupted(warehouse: Warehouse, target: BackupTarget, owner: Owner | None = None) -> list[str]:
    """A catalog row still 'running' belongs to a process that died mid-backup: broken unless
    ClickHouse finished writing it. Only one backup runs at a time (embedded lock / flow concurrency)."""
    swept = []
    for row in warehouse.query_df("SELECT * FROM backups FINAL WHERE status = 'running'").iter_rows(named=True):
        complete = _owner(target, owner)(row["location"]).is_complete(row["name"])
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
    reason: str  # why a full or an incremental (e.g. "full-… is unverified (its restore drill failed) …")


def take_snapshot(
    warehouse: Warehouse,
    target: BackupTarget,
    now: datetime,
    force_full: bool = False,
    full_every_h: float = 24.0,
    owner: Owner | None = None,
) -> SnapshotResult:
    """Full or incremental snapshot per policy; an incremental's base is drill-verified and proven whole first."""
    records = load_records(warehouse)
    planned = (
        NextBackup(FULL, None, "a full was asked for")
        if force_full
        else plan_backup(records, now, timedelta(hours=full_every_h))
    )
    if planned.base is not None:
        gap = _chain_gap(planned.base, records, _owner(target, owner))
        if gap:  # a base we cannot prove whole is no base: start a new chain
            planned = NextBackup(FULL, None, f"chain of {planned.base.name} is not whole ({gap})")
    kind, base = planned.kind, planned.base
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
        "detail": planned.reason,
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
    return SnapshotResult(name, kind, row["base"], size, row["rows"], seconds, planned.reason)


def _chain_gap(base: BackupRecord, records: list[BackupRecord], owner: Owner) -> str:
    """Why the chain from ``base`` back to its full is not usable and complete on disk ('' when it is)."""
    by_name = {r.name: r for r in records}
    link = base
    while True:
        if not link.usable:
            return f"{link.name} is {link.status}"
        if not owner(link.location).is_complete(link.name):
            return f"{link.name} is not complete on disk"
        if link.kind == FULL:
            return ""
        if link.base not in by_name:
            return f"base {link.base} of {link.name} is gone"
        link = by_name[link.base]


def check_chains(warehouse: Warehouse, target: BackupTarget, owner: Owner | None = None) -> list[dict[str, str]]:
    """Cheap structural check of every kept snapshot: complete on disk, and its base (and the base's base…)
    still kept and whole. A snapshot that fails is marked ``broken`` with the reason: it can no longer be
    restored, whatever its last drill said. Oldest first, so a broken base breaks what was built on it."""
    resolve = _owner(target, owner)
    rows = warehouse.query_df(
        "SELECT * FROM backups FINAL WHERE status NOT IN ('deleted', 'running') ORDER BY started_at"
    ).to_dicts()
    whole: set[str] = set()
    found: list[dict[str, str]] = []
    for row in rows:
        if row["status"] == "broken":
            continue
        problem = ""
        if not resolve(row["location"]).is_complete(row["name"]):
            problem = f"snapshot data missing at {row['location']}"
        elif row["kind"] != FULL and row["base"] not in whole:
            problem = f"its base {row['base']} is gone or broken"
        if problem:
            save(warehouse, row | {"status": "broken", "detail": problem})
            found.append({"name": row["name"], "problem": problem})
        else:
            whole.add(row["name"])
    return found


def drill_database(name: str) -> str:
    return check_sql_name("drill_" + name.replace("-", "_"))  # case kept, like the restore target


def drill(warehouse: Warehouse, target: BackupTarget, name: str, owner: Owner | None = None) -> tuple[bool, str]:
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
    warehouse.drop_database(scratch)
    warehouse.create_database(scratch)
    try:
        _owner(target, owner)(row["location"]).restore_into(warehouse, list(row["tables"]), name, scratch)
        found = fingerprint(warehouse, scratch, row["tables"])
    except StorageError as exc:
        found, error = None, str(exc)
    finally:
        warehouse.drop_database(scratch)
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


def verify_all(warehouse: Warehouse, target: BackupTarget, owner: Owner | None = None) -> list[dict[str, Any]]:
    """Every kept snapshot checked structurally (:func:`check_chains`), then the newest member of each chain
    drilled: restoring it reads every older member, so one drill per chain proves the whole chain."""
    broken = {item["name"]: item["problem"] for item in check_chains(warehouse, target, owner)}
    results: list[dict[str, Any]] = [
        {"name": name, "status": "broken", "drilled": False, "detail": problem} for name, problem in broken.items()
    ]
    live = chains(load_records(warehouse))
    newest = {c.newest.name for c in live}
    for chain in live:
        for member in chain.members:
            if member.name in newest:
                ok, detail = drill(warehouse, target, member.name, owner)
                status = "verified" if ok else "unverified"
                results.append({"name": member.name, "status": status, "drilled": True, "detail": detail})
            else:
                results.append({"name": member.name, "status": member.status, "drilled": False, "detail": "whole"})
    return sorted(results, key=lambda r: r["name"])


def prune(
    warehouse: Warehouse,
    target: BackupTarget,
    now: datetime,
    keep_days: float,
    min_chains: int,
    max_chains: int,
    dry_run: bool,
    owner: Owner | None = None,
) -> RetentionPlan:
    """Delete whole chains past retention and every broken snapshot; a dry run only reports.

    Each snapshot is deleted by the driver that wrote it (its recorded location), and marked ``deleted``
    only once that driver says it is gone: a driver switch never leaves data on disk behind a catalog row
    that claims otherwise.
    """
    plan = retention(load_records(warehouse), now, keep_days, min_chains, max_chains)
    if dry_run:
        return plan
    resolve = _owner(target, owner)
    for doomed in plan.delete:
        holder = resolve(doomed.location)
        holder.delete(doomed.name)
        row = record(warehouse, doomed.name)
        if row is None:
            continue
        if holder.is_complete(doomed.name):
            save(warehouse, row | {"detail": f"retention could not delete it at {doomed.location}"})
        else:
            save(warehouse, row | {"status": "deleted", "detail": f"retention ({row['status']} before)"})
    return plan


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
