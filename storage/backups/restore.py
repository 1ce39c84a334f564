"""Restoring a snapshot without destroying anything: every replaced row is moved or copied aside first.

The snapshot is restored into a shadow database (default ``restore_<name>``). ``force`` replaces what that
target already holds (its tables, or only the named partitions, move to ``<target>_replaced_<stamp>``) instead
of appending to it. ``swap`` puts the restored data into the live database: whole tables by ``EXCHANGE TABLES``
(the replaced tables end up in the shadow database), or, with partitions, exactly those partitions by
``ALTER TABLE … REPLACE PARTITION … FROM`` after a copy of the live partitions is attached to
``<live>_replaced_<stamp>``; every other partition of the live table is untouched.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.errors import StorageError
from core.identifiers import check_partition_id, check_sql_name
from storage.backups.snapshots import record
from storage.backups.target import BackupTarget, Owner
from storage.warm.base import Warehouse

# Partition surgery (ATTACH/REPLACE PARTITION … FROM) is per host on a cluster and the copies it needs would be
# replicated tables sharing their source's Keeper path: refused rather than run half-way.
_CLUSTER_PARTITION_SWAP = (
    "swapping single partitions into the live tables is not supported on a cluster: restore into a new database "
    "(--into), check it, then swap whole tables (--swap without --partition) or replace the partitions per shard"
)


@dataclass
class RestoreReport:
    backup: str
    into: str
    tables: dict[str, int]
    swapped: bool
    changes: list[str] = field(default_factory=list)  # what changed, and where the replaced data now is

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def restore_snapshot(
    warehouse: Warehouse,
    target: BackupTarget,
    name: str,
    tables: list[str] | None = None,
    partitions: list[str] | None = None,
    into: str | None = None,
    force: bool = False,
    swap: bool = False,
    owner: Owner | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Restore ``name`` (optionally some tables / partitions) and report every change it made."""
    row = record(warehouse, name)
    if row is None or row["status"] in ("deleted", "broken", "running"):
        raise StorageError(f"backup {name} cannot be restored (status: {row['status'] if row else 'unknown'})")
    parts = [check_partition_id(p) for p in partitions or []]
    chosen = tables or list(row["tables"])
    unknown = sorted(set(chosen) - set(row["tables"]))
    if unknown:
        raise StorageError(f"backup {name} holds no table {', '.join(unknown)} (it holds {', '.join(row['tables'])})")
    if parts and not tables:  # partition ids are per table layout: only the partitioned tables have them
        chosen = [t for t in chosen if _partitioned(warehouse, warehouse.database, t)]
    shadow = check_sql_name(into or shadow_database(name))
    if swap and shadow == warehouse.database:
        raise StorageError("--swap restores beside the live database and swaps in; --into cannot be the live database")
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    if warehouse.cluster and parts and swap:
        raise StorageError(_CLUSTER_PARTITION_SWAP)
    report = RestoreReport(name, shadow, {}, swap)
    warehouse.create_database(shadow)
    occupied = [t for t in chosen if _rows_in(warehouse, shadow, t, parts)]
    if occupied and not force:
        raise StorageError(
            f"target {shadow} already holds data in {', '.join(occupied)}; pass --force to replace it "
            "(the replaced data is moved aside, not deleted)"
        )
    if occupied and warehouse.cluster:
        raise StorageError(
            f"target {shadow} already holds data in {', '.join(occupied)}: on a cluster, restore into a new "
            "database (--into) instead of replacing one"
        )
    if occupied:
        _move_aside(warehouse, shadow, occupied, parts, check_sql_name(f"{shadow}_replaced_{stamp}"[:64]), report)
    source = (owner or (lambda _location: target))(row["location"])
    existing = [t for t in chosen if _exists(warehouse, shadow, t)]
    source.restore_into(warehouse, chosen, name, shadow, parts or None, allow_non_empty=bool(existing))
    report.tables = {t: _rows_in(warehouse, shadow, t, parts) for t in chosen}
    report.changes.append(
        f"{shadow}: restored "
        + ", ".join(f"{t} {n:,} rows" for t, n in report.tables.items())
        + (f" (partitions {', '.join(parts)})" if parts else "")
    )
    if swap:
        if parts:
            aside = check_sql_name(f"{warehouse.database}_replaced_{stamp}"[:64])
            _replace_partitions(warehouse, shadow, chosen, parts, aside, report)
        else:
            _exchange_tables(warehouse, shadow, chosen, report)
    return report.as_dict()


def shadow_database(name: str) -> str:
    """The default restore target of backup ``name``: ``restore_<name>`` with ``-`` as ``_``, its case kept, so
    ``full-20261130T232700Z`` restores into ``restore_full_20261130T232700Z`` (a name people can find again)."""
    return "restore_" + name.replace("-", "_")


def _move_aside(
    warehouse: Warehouse, database: str, tables: list[str], parts: list[str], aside: str, report: RestoreReport
) -> None:
    """``--force``: what the target held moves to ``aside`` (whole tables, or only the restored partitions)."""
    warehouse.create_database(aside)
    for table in tables:
        here, there = f"{database}.{check_sql_name(table)}", f"{aside}.{check_sql_name(table)}"
        held = _rows_in(warehouse, database, table, parts)
        if parts:
            _copy_partitions(warehouse, here, there, parts)
            for part in parts:
                warehouse.execute(f"ALTER TABLE {here} DROP PARTITION ID '{part}'")
            report.changes.append(f"{here}: {held:,} rows of partitions {', '.join(parts)} moved to {there}")
        else:
            warehouse.execute(f"RENAME TABLE {here} TO {there}")
            report.changes.append(f"{here}: its {held:,} rows moved to {there}")


def _replace_partitions(
    warehouse: Warehouse, shadow: str, tables: list[str], parts: list[str], aside: str, report: RestoreReport
) -> None:
    """Exactly ``parts`` of each live table replaced from the shadow copy; a copy of the old ones kept aside."""
    warehouse.create_database(aside)
    for table in tables:
        live = f"{warehouse.database}.{check_sql_name(table)}"
        kept = f"{aside}.{check_sql_name(table)}"
        before = _rows_in(warehouse, warehouse.database, table, parts)
        _copy_partitions(warehouse, live, kept, parts)
        for part in parts:
            warehouse.execute(f"ALTER TABLE {live} REPLACE PARTITION ID '{part}' FROM {shadow}.{check_sql_name(table)}")
        after = _rows_in(warehouse, warehouse.database, table, parts)
        report.changes.append(
            f"{live}: partitions {', '.join(parts)} replaced ({before:,} -> {after:,} rows), every other partition "
            f"untouched; the replaced rows are in {kept}"
        )


def _exchange_tables(warehouse: Warehouse, shadow: str, tables: list[str], report: RestoreReport) -> None:
    for table in tables:
        live = f"{warehouse.database}.{check_sql_name(table)}"
        before = _rows_in(warehouse, warehouse.database, table, [])
        warehouse.exchange(check_sql_name(table), shadow)  # every host's data table on a cluster
        after = _rows_in(warehouse, warehouse.database, table, [])
        report.changes.append(
            f"{live}: whole table swapped ({before:,} -> {after:,} rows); the replaced table is now "
            f"{shadow}.{check_sql_name(table)}"
        )


def _copy_partitions(warehouse: Warehouse, source: str, copy: str, parts: list[str]) -> None:
    """Attach a copy of ``parts`` of ``source`` to ``copy`` (same structure; hard links, not a rewrite)."""
    warehouse.execute(f"CREATE TABLE IF NOT EXISTS {copy} AS {source}")
    for part in parts:
        warehouse.execute(f"ALTER TABLE {copy} ATTACH PARTITION ID '{part}' FROM {source}")


def _exists(warehouse: Warehouse, database: str, table: str) -> bool:
    return bool(
        warehouse.query_scalar(
            "SELECT count() FROM system.tables WHERE database = {d:String} AND name = {t:String}",
            {"d": database, "t": table},
        )
    )


def _partitioned(warehouse: Warehouse, database: str, table: str) -> bool:
    key = warehouse.query_scalar(
        "SELECT partition_key FROM system.tables WHERE database = {d:String} AND name = {t:String}",
        {"d": database, "t": table},
    )
    return bool(key)


def _rows_in(warehouse: Warehouse, database: str, table: str, parts: list[str]) -> int:
    """Rows of ``database.table`` (only in ``parts`` when given); 0 when the table does not exist."""
    if not _exists(warehouse, database, table):
        return 0
    where = " WHERE _partition_id IN ({p:Array(String)})" if parts else ""
    sql = f"SELECT count() FROM {check_sql_name(database)}.{check_sql_name(table)}{where}"
    return int(warehouse.query_scalar(sql, {"p": parts} if parts else None) or 0)
