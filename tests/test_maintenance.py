"""Optimize, backup chains, restore drills and retention on the real embedded engine."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from core.backup_policy import FULL, INCREMENTAL, chains
from core.settings import Settings
from storage.backups import snapshots as backups
from storage.backups.factory import backup_target
from storage.backups.target import DirectoryBackupTarget
from storage.warm import open_warehouse
from storage.warm.base import Warehouse
from storage.warm.optimize import part_stats
from storage.warm.schema import BACKUP_TABLES, OPTIMIZE_TABLES, migrate
from tests.warm_helpers import insert_bars, verified_snapshot

T0 = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture
def warehouse(settings: Settings) -> Iterator[Warehouse]:
    with open_warehouse(settings) as wh:
        migrate(wh)
        yield wh


def _content_hash(wh: Warehouse, database: str | None = None) -> pl.DataFrame:
    return backups.fingerprint(wh, database or wh.database, BACKUP_TABLES)


def test_optimize_reduces_parts_keeps_final_identical_and_reruns_as_a_no_op(
    settings: Settings, prefect_api: None
) -> None:
    from flows.optimize import optimize

    with open_warehouse(settings) as wh:
        migrate(wh)
        for version in (1, 2, 3):  # three overlapping loads of June and one of July
            insert_bars(wh, T0, 100, version, close=10.0 + version)
        insert_bars(wh, T0 + timedelta(days=31), 50, 1)
        final_before = wh.query_df("SELECT * FROM bars_1m FINAL ORDER BY ts")
        parts_before = part_stats(wh, OPTIMIZE_TABLES).filter(pl.col("table") == "bars_1m")
    assert parts_before.filter(pl.col("partition") == "202406")["active_parts"][0] == 3

    first = optimize()
    assert first["partitions_optimized"] >= 1
    with open_warehouse(settings) as wh:
        after = part_stats(wh, OPTIMIZE_TABLES).filter(pl.col("table") == "bars_1m")
        assert after["active_parts"].to_list() == [1, 1]
        assert wh.query_df("SELECT * FROM bars_1m FINAL ORDER BY ts").equals(final_before)
        assert wh.query_scalar("SELECT count() FROM bars_1m") == 150  # replaced versions merged away
        logged = wh.query_df(
            "SELECT parts_before, parts_after, rows_before, rows_after FROM optimize_log "
            "WHERE table = 'bars_1m' AND partition = '202406'"
        )
    assert logged.row(0) == (3, 1, 300, 100)
    second = optimize()
    assert second["partitions_optimized"] == 0 and second["partitions_planned"] == 0


def test_full_then_two_incrementals_drop_restore_from_newest_gives_identical_content(
    settings: Settings, warehouse: Warehouse
) -> None:
    target = backup_target(settings)
    insert_bars(warehouse, T0, 500, 1)
    full = verified_snapshot(warehouse, target, T0, force_full=True)
    insert_bars(warehouse, T0 + timedelta(days=1), 500, 1)
    inc1 = verified_snapshot(warehouse, target, T0 + timedelta(hours=6))
    insert_bars(warehouse, T0 + timedelta(days=40), 500, 1)
    inc2 = verified_snapshot(warehouse, target, T0 + timedelta(hours=12))
    assert (full.kind, inc1.kind, inc2.kind) == (FULL, INCREMENTAL, INCREMENTAL)
    assert (inc1.base, inc2.base) == (full.name, inc1.name)
    assert inc2.size_bytes < full.size_bytes * 2

    expected = _content_hash(warehouse)
    warehouse.execute("DROP TABLE bars_1m SYNC")
    warehouse.execute("CREATE DATABASE restored")
    warehouse.restore(list(BACKUP_TABLES), target.expression(inc2.name), "restored")
    assert _content_hash(warehouse, "restored").equals(expected)
    assert warehouse.query_scalar("SELECT count() FROM restored.bars_1m") == 1500
    for name in (full.name, inc1.name, inc2.name):
        ok, detail = backups.drill(warehouse, target, name)
        assert ok, detail
    listed = backups.catalog(warehouse)
    assert listed["status"].to_list() == ["verified"] * 3 and listed["verified_at"].null_count() == 0


def test_a_drill_catches_a_backup_whose_base_is_gone(settings: Settings, warehouse: Warehouse) -> None:
    target = backup_target(settings)
    insert_bars(warehouse, T0, 10, 1)
    full = verified_snapshot(warehouse, target, T0, force_full=True)
    insert_bars(warehouse, T0 + timedelta(days=1), 10, 1)
    inc = verified_snapshot(warehouse, target, T0 + timedelta(hours=6))
    target.delete(full.name)  # ClickHouse would still call the incremental a success
    ok, detail = backups.drill(warehouse, target, inc.name)
    assert not ok and "restore failed" in detail
    recorded = backups.record(warehouse, inc.name)
    assert recorded is not None and recorded["status"] == "unverified"
    # and the next snapshot does not build on the broken chain
    nxt = backups.take_snapshot(warehouse, target, T0 + timedelta(hours=12))
    assert nxt.kind == FULL


def test_retention_over_eight_simulated_days_keeps_whole_restorable_chains(
    settings: Settings, warehouse: Warehouse
) -> None:
    target = backup_target(settings)
    now = T0
    for step in range(8 * 4):
        now = T0 + timedelta(hours=6 * step)
        insert_bars(warehouse, T0 + timedelta(minutes=10 * step), 10, step + 1)
        verified_snapshot(warehouse, target, now)
    now += timedelta(hours=1)  # an hour after the last snapshot, the first day's chain is 7 days old
    dry = backups.prune(warehouse, target, now, keep_days=7, min_chains=1, max_chains=60, dry_run=True)
    assert len(dry.delete) == 4 and all(target.is_complete(r.name) for r in dry.delete)  # a dry run deletes nothing
    plan = backups.prune(warehouse, target, now, keep_days=7, min_chains=1, max_chains=60, dry_run=False)
    assert [r.name for r in plan.delete] == [r.name for r in dry.delete]
    kept = chains(plan.keep)
    assert len(kept) == 7 and all(c.newest_at >= now - timedelta(days=7) for c in kept)
    assert isinstance(target, DirectoryBackupTarget)
    assert not any(target.path(r.name).exists() for r in plan.delete)
    for record in plan.keep:
        ok, detail = backups.drill(warehouse, target, record.name)
        assert ok, (record.name, detail)
    statuses = backups.catalog(warehouse).group_by("status").len().sort("status")
    assert dict(statuses.iter_rows()) == {"deleted": 4, "verified": 28}


KILLED_BACKUP = textwrap.dedent(
    """
    import os
    import re
    from datetime import UTC, datetime
    import storage.backups.snapshots as backups
    from core.settings import load_settings
    from storage.backups.factory import backup_target
    from storage.warm import open_warehouse

    settings = load_settings()
    target = backup_target(settings)
    real_backup = backups.Warehouse.backup
    def backup_then_die(self, tables, destination, base=None):
        real_backup(self, tables, destination, base)
        name = re.search(r"File\\('([^']+)'\\)", destination).group(1)
        os.remove(target.path(name) / ".backup")  # as if killed before ClickHouse wrote its metadata
        os._exit(9)
    backups.Warehouse.backup = backup_then_die
    with open_warehouse(settings) as wh:
        backups.take_snapshot(wh, target, datetime(2024, 6, 1, 6, tzinfo=UTC))
    """
)


def test_a_backup_killed_part_way_is_marked_broken_and_the_next_run_is_valid(
    settings: Settings, prefect_api: None
) -> None:
    from flows.backup import backup

    with open_warehouse(settings) as wh:
        migrate(wh)
        insert_bars(wh, T0, 100, 1)
    child = subprocess.run(
        [sys.executable, "-c", KILLED_BACKUP], capture_output=True, text=True, timeout=300, env=os.environ.copy()
    )
    assert child.returncode == 9, child.stderr[-2000:]
    summary = backup()
    assert summary["swept"] == ["full-20240601T060000Z"]
    assert summary["snapshot"]["kind"] == FULL and summary["drill"]["verified"] is True
    assert "full-20240601T060000Z" in summary["deleted"]  # broken snapshots are cleaned
    with open_warehouse(settings) as wh:
        states = dict(backups.catalog(wh).select("name", "status").iter_rows())
    assert states["full-20240601T060000Z"] == "deleted"
    assert states[summary["snapshot"]["name"]] == "verified"
