"""Chains and retention over a simulated week and a half of 6-hourly snapshots (clock injected)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.backup_policy import FULL, INCREMENTAL, BackupRecord, backup_name, chains, next_backup, retention

T0 = datetime(2024, 6, 1, tzinfo=UTC)


def _simulate(days: float, broken_at: set[int] | None = None) -> tuple[list[BackupRecord], datetime]:
    records: list[BackupRecord] = []
    now = T0
    for step in range(int(days * 4)):
        now = T0 + timedelta(hours=6 * step)
        kind, base = next_backup(records, now)
        name = backup_name(kind, now)
        status = "broken" if broken_at and step in broken_at else "verified"
        if kind == FULL:
            chain = name
        else:
            assert base is not None  # an incremental always has a base
            chain = base.chain
        records.append(
            BackupRecord(name, kind, base.name if base else None, chain, status, now, now + timedelta(minutes=5))
        )
    return records, now


def test_a_full_a_day_and_incrementals_every_six_hours() -> None:
    records, _ = _simulate(2)
    assert [r.kind for r in records] == [FULL, INCREMENTAL, INCREMENTAL, INCREMENTAL] * 2
    assert records[1].base == records[0].name and records[2].base == records[1].name


def test_a_broken_snapshot_is_never_a_base() -> None:
    records, _ = _simulate(1, broken_at={2})
    assert records[2].status == "broken"
    assert records[3].base == records[1].name


def test_retention_over_ten_days_keeps_whole_chains_inside_seven_days() -> None:
    records, now = _simulate(10.5)
    plan = retention(records, now, keep_days=7)
    kept_chains = chains(plan.keep)
    # every kept incremental's base is kept too
    kept = {r.name for r in plan.keep}
    assert all(r.base in kept for r in plan.keep if r.kind == INCREMENTAL)
    # a chain goes only when its newest snapshot is older than 7 days
    assert all(c.newest_at >= now - timedelta(days=7) for c in kept_chains)
    deleted_chains = chains(list(plan.delete))
    assert all(c.newest_at < now - timedelta(days=7) for c in deleted_chains)
    assert len(kept_chains) == 8 and len(plan.delete) == 12  # the first 3 days: 3 whole chains of 4
    assert {r.name for r in plan.keep} | {r.name for r in plan.delete} == {r.name for r in records}


def test_retention_cleans_broken_snapshots_and_keeps_the_newest_chain_even_if_old() -> None:
    records, now = _simulate(1, broken_at={1})
    plan = retention(records, now + timedelta(days=30), keep_days=7, min_chains=1)
    assert [r.status for r in plan.delete] == ["broken"]
    assert len(plan.keep) == 3


def test_the_first_snapshot_of_a_day_is_full_even_a_few_seconds_early() -> None:
    full = BackupRecord("full-a", FULL, None, "full-a", "verified", T0 + timedelta(seconds=10))
    kind, base = next_backup([full], T0 + timedelta(days=1, seconds=3))
    assert (kind, base) == (FULL, None)
    kind, base = next_backup([full], T0 + timedelta(hours=6))
    assert (kind, base) == (INCREMENTAL, full)
