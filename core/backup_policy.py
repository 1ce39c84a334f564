"""Backup chains and retention as pure functions of the catalog (the clock is a parameter).

A chain is one full snapshot and the incrementals built on it, each incremental on the one before.
Restoring any member needs every older member of its chain, so retention deletes whole chains only
(clickhouse-backup's count-based retention once broke chains by deleting a live base).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

FULL = "full"
INCREMENTAL = "incremental"
VERIFIED = "verified"
# A snapshot that can serve as a restore point; only a ``verified`` one is ever a base.
USABLE = ("created", VERIFIED, "unverified")


@dataclass(frozen=True)
class BackupRecord:
    name: str
    kind: str
    base: str | None
    chain: str
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    location: str = ""  # where its driver put it (retention and drills ask that driver, not the current one)

    @property
    def usable(self) -> bool:
        return self.status in USABLE


@dataclass(frozen=True)
class Chain:
    name: str  # the full snapshot's name
    members: tuple[BackupRecord, ...]  # oldest first

    @property
    def newest(self) -> BackupRecord:
        return self.members[-1]

    @property
    def newest_at(self) -> datetime:
        return self.newest.finished_at or self.newest.started_at


def backup_name(kind: str, now: datetime) -> str:
    """Sortable and unique per second: ``full-20241121T000000Z``."""
    return f"{kind}-{now.strftime('%Y%m%dT%H%M%SZ')}"


def chains(records: list[BackupRecord]) -> list[Chain]:
    """Usable snapshots grouped into chains, oldest chain first; members cut at the first unusable link."""
    usable = {r.name: r for r in records if r.usable}
    grouped: dict[str, list[BackupRecord]] = {}
    for record in sorted(usable.values(), key=lambda r: r.started_at):
        grouped.setdefault(record.chain, []).append(record)
    result = []
    for chain_name, members in grouped.items():
        if chain_name not in usable or usable[chain_name].kind != FULL:
            continue  # an incremental whose full is gone cannot be restored
        linked: list[BackupRecord] = []
        for member in members:
            if member.kind == FULL or (linked and member.base == linked[-1].name):
                linked.append(member)
        result.append(Chain(chain_name, tuple(linked)))
    return sorted(result, key=lambda c: c.members[0].started_at)


@dataclass(frozen=True)
class NextBackup:
    kind: str
    base: BackupRecord | None
    reason: str  # why this kind: the backup flow logs it and the catalog keeps it


def plan_backup(records: list[BackupRecord], now: datetime, full_every: timedelta = timedelta(days=1)) -> NextBackup:
    """A full for the first snapshot of a UTC day (or when the chain is older than ``full_every``, or none
    exists), else an incremental on the newest snapshot of the newest chain, but only when its restore
    drill passed: a base whose drill failed (or never ran) would make every snapshot built on it as
    unrestorable as itself, so the next one starts a new chain and says why.

    The day rule, not only the age, so a schedule that fires a few seconds early still starts the new chain.
    """
    live = chains(records)
    if not live:
        return NextBackup(FULL, None, "no restorable chain yet")
    newest = live[-1]
    chain_start = newest.members[0].started_at
    if now.date() != chain_start.date():
        return NextBackup(FULL, None, f"first snapshot of {now.date().isoformat()} (UTC)")
    if now - chain_start >= full_every:
        return NextBackup(FULL, None, f"chain {newest.name} is older than {full_every}")
    base = newest.newest
    if base.status != VERIFIED:
        why = "its restore drill failed" if base.status == "unverified" else "its restore drill has not passed"
        return NextBackup(FULL, None, f"{base.name} is {base.status} ({why}); only a drill-verified snapshot is a base")
    return NextBackup(INCREMENTAL, base, f"incremental on drill-verified {base.name}")


def next_backup(
    records: list[BackupRecord], now: datetime, full_every: timedelta = timedelta(days=1)
) -> tuple[str, BackupRecord | None]:
    """(kind, base) of :func:`plan_backup`."""
    planned = plan_backup(records, now, full_every)
    return planned.kind, planned.base


@dataclass(frozen=True)
class RetentionPlan:
    keep: list[BackupRecord]
    delete: list[BackupRecord]  # whole chains past retention, plus every broken or orphaned snapshot


def retention(
    records: list[BackupRecord], now: datetime, keep_days: float = 7, min_chains: int = 1, max_chains: int = 60
) -> RetentionPlan:
    """Keep a chain while its newest snapshot is younger than ``keep_days`` (always the newest
    ``min_chains``, never more than ``max_chains``); everything not in a kept chain goes."""
    live = chains(records)
    cutoff = now - timedelta(days=keep_days)
    kept_chains = [c for c in live if c.newest_at >= cutoff]
    for chain in reversed(live):  # top up with the newest chains
        if len(kept_chains) >= min_chains:
            break
        if chain not in kept_chains:
            kept_chains.append(chain)
    kept_chains = sorted(kept_chains, key=lambda c: c.members[0].started_at)[-max_chains:]
    keep_names = {m.name for c in kept_chains for m in c.members}
    keep = [r for r in records if r.name in keep_names]
    delete = [r for r in records if r.name not in keep_names and r.status != "deleted"]
    return RetentionPlan(
        keep=sorted(keep, key=lambda r: r.started_at), delete=sorted(delete, key=lambda r: r.started_at)
    )
