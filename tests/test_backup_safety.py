"""Backups that stay restorable and restores that never destroy data, on the real embedded engine.

Each test replays one scenario of issue 13 that failed before: a drill-failed base, a deleted base, a moved
backups directory, a driver switch, a partition restore with --swap, a restore with --force.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from core.backup_policy import FULL, INCREMENTAL
from core.settings import Settings, load_settings
from storage.backups import snapshots as backups
from storage.backups.factory import backup_target
from storage.backups.target import BackupTarget
from storage.warm import open_warehouse
from storage.warm.base import Warehouse
from storage.warm.schema import migrate
from tests.warm_helpers import insert_bars, verified_snapshot

T0 = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture
def warehouse(settings: Settings) -> Iterator[Warehouse]:
    with open_warehouse(settings) as wh:
        migrate(wh)
        yield wh


def _status(wh: Warehouse) -> dict[str, str]:
    return dict(backups.catalog(wh).select("name", "status").iter_rows())


def test_a_snapshot_whose_drill_failed_is_never_a_base_and_the_next_one_says_why(
    settings: Settings, warehouse: Warehouse
) -> None:
    target = backup_target(settings)
    insert_bars(warehouse, T0, 50, 1)
    full = backups.take_snapshot(warehouse, target, T0)
    # the drill compares with the fingerprints taken at backup time: a wrong one makes it fail, as corruption would
    warehouse.execute(
        "INSERT INTO backup_fingerprints SELECT backup, table, partition, rows + 1, hash FROM backup_fingerprints "
        "FINAL WHERE backup = {n:String} AND table = 'bars_1m'",
        {"n": full.name},
    )
    ok, _ = backups.drill(warehouse, target, full.name)
    assert not ok and _status(warehouse)[full.name] == "unverified"
    nxt = backups.take_snapshot(warehouse, target, T0 + timedelta(hours=6))
    assert nxt.kind == FULL and nxt.base is None
    assert full.name in nxt.reason and "drill" in nxt.reason
    assert backups.drill(warehouse, target, nxt.name)[0]  # the new chain is restorable at once
    third = backups.take_snapshot(warehouse, target, T0 + timedelta(hours=12))
    assert (third.kind, third.base) == (INCREMENTAL, nxt.name)
    assert "drill-verified" in third.reason


def test_a_snapshot_never_drilled_is_no_base_either(settings: Settings, warehouse: Warehouse) -> None:
    target = backup_target(settings)
    insert_bars(warehouse, T0, 10, 1)
    first = backups.take_snapshot(warehouse, target, T0)
    second = backups.take_snapshot(warehouse, target, T0 + timedelta(hours=6))
    assert second.kind == FULL and first.name in second.reason


def test_snapshots_whose_base_was_deleted_are_marked_broken_and_listed_so(
    settings: Settings, warehouse: Warehouse, prefect_api: None
) -> None:
    target = backup_target(settings)
    insert_bars(warehouse, T0, 20, 1)
    full = verified_snapshot(warehouse, target, T0)
    insert_bars(warehouse, T0 + timedelta(days=1), 20, 1)
    inc1 = verified_snapshot(warehouse, target, T0 + timedelta(hours=6))
    insert_bars(warehouse, T0 + timedelta(days=2), 20, 1)
    inc2 = verified_snapshot(warehouse, target, T0 + timedelta(hours=12))
    shutil.rmtree(target.path(inc1.name))  # type: ignore[attr-defined]  # deleted by hand, or by a disk problem
    listed = CliRunner().invoke(__import__("marketops.cli", fromlist=["app"]).app, ["backups", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {r["name"]: r for r in json.loads(listed.output)}
    assert {n: r["status"] for n, r in rows.items()} == {
        full.name: "verified",
        inc1.name: "broken",
        inc2.name: "broken",
    }
    assert inc1.name in rows[inc2.name]["detail"]  # the dependent says which base is gone
    shutil.rmtree(target.path(full.name))  # type: ignore[attr-defined]
    found = backups.check_chains(warehouse, target)
    assert found == [{"name": full.name, "problem": f"snapshot data missing at File('{full.name}')"}]
    nxt = backups.take_snapshot(warehouse, target, T0 + timedelta(hours=18))
    assert nxt.kind == FULL and nxt.base is None


def test_backups_verify_without_a_name_checks_every_snapshot_and_drills_each_chain(
    settings: Settings, warehouse: Warehouse, prefect_api: None
) -> None:
    from marketops.cli import app

    target = backup_target(settings)
    insert_bars(warehouse, T0, 20, 1)
    day1 = verified_snapshot(warehouse, target, T0)
    insert_bars(warehouse, T0 + timedelta(days=1), 20, 1)
    day1_inc = verified_snapshot(warehouse, target, T0 + timedelta(hours=6))
    day2 = verified_snapshot(warehouse, target, T0 + timedelta(days=1))
    warehouse.close()
    result = CliRunner().invoke(app, ["backups", "verify"])
    assert result.exit_code == 0, result.output
    for name in (day1.name, day1_inc.name, day2.name):
        assert name in result.output
    with open_warehouse(settings) as wh:
        drilled_at = dict(backups.catalog(wh).select("name", "verified_at").iter_rows())
    # the newest of each chain was drilled again just now; the chain's older member only checked
    assert drilled_at[day1_inc.name] > drilled_at[day1.name] and drilled_at[day2.name] > drilled_at[day1_inc.name]
    shutil.rmtree(target.path(day1.name))  # type: ignore[attr-defined]
    broken = CliRunner().invoke(app, ["backups", "verify"])
    assert broken.exit_code == 1
    assert f"{day1_inc.name}: broken" in broken.output and f"{day2.name}: verified" in broken.output


MOVED_RESTORE = """
import sys
from core.settings import load_settings
from storage.backups.factory import backup_target
from storage.backups.restore import restore_snapshot
from storage.warm import open_warehouse
settings = load_settings()
with open_warehouse(settings) as wh:
    result = restore_snapshot(wh, backup_target(settings), sys.argv[1])
    print(wh.query_scalar("SELECT count() FROM " + result["into"] + ".bars_1m"))
"""


def test_a_moved_backups_directory_still_restores_its_incrementals(
    settings: Settings, warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = backup_target(settings)
    insert_bars(warehouse, T0, 30, 1)
    verified_snapshot(warehouse, target, T0)
    insert_bars(warehouse, T0 + timedelta(days=1), 30, 1)
    verified_snapshot(warehouse, target, T0 + timedelta(hours=6))
    insert_bars(warehouse, T0 + timedelta(days=40), 30, 1)
    inc2 = verified_snapshot(warehouse, target, T0 + timedelta(hours=12))
    warehouse.close()
    moved = tmp_path / "elsewhere"
    settings.home_dir.rename(moved)  # the whole home, backups included, now lives somewhere else
    monkeypatch.setenv("MARKETOPS_HOME", str(moved))
    moved_settings = load_settings()
    with open_warehouse(moved_settings) as wh:
        ok, detail = backups.drill(wh, backup_target(moved_settings), inc2.name)  # before: the base path was gone
        assert ok, detail
        result = restore_snapshot(wh, backup_target(moved_settings), inc2.name)
        assert wh.query_scalar(f"SELECT count() FROM {result['into']}.bars_1m") == 90
    assert not settings.home_dir.exists()


class OtherDriverTarget(BackupTarget):
    """A second driver (as clickhouse-backup is): its own place (``backups/other``), its own location prefix."""

    def __init__(self, backups_dir: Path) -> None:
        self.root = backups_dir / "other"

    def expression(self, name: str) -> str:
        return f"other:{name}"

    def _file(self, name: str) -> str:
        return f"File('other/{name}')"

    def write(self, warehouse: Warehouse, tables: list[str], name: str, base: str | None) -> None:
        warehouse.backup(tables, self._file(name), self._file(base) if base else None)

    def restore_into(
        self,
        warehouse: Warehouse,
        tables: list[str],
        name: str,
        database: str,
        partitions: list[str] | None = None,
        allow_non_empty: bool = False,
    ) -> None:
        warehouse.restore(tables, self._file(name), database, partitions, allow_non_empty)

    def is_complete(self, name: str) -> bool:
        return (self.root / name / ".backup").is_file()

    def size_bytes(self, name: str) -> int:
        return sum(p.stat().st_size for p in (self.root / name).rglob("*") if p.is_file())

    def delete(self, name: str) -> None:
        shutil.rmtree(self.root / name, ignore_errors=True)


def test_after_a_driver_switch_retention_deletes_each_snapshot_through_its_own_driver(
    settings: Settings, warehouse: Warehouse
) -> None:
    from storage.backups.factory import owner_of

    native = backup_target(settings)
    insert_bars(warehouse, T0, 10, 1)
    old = verified_snapshot(warehouse, native, T0)
    other = OtherDriverTarget(settings.backups_dir)
    owner = owner_of(settings, other)
    later = T0 + timedelta(days=10)
    new = backups.take_snapshot(warehouse, other, later, owner=owner)
    assert backups.drill(warehouse, other, new.name, owner)[0]
    assert backups.check_chains(warehouse, other, owner) == []  # the native one is found where its driver put it
    plan = backups.prune(warehouse, other, later, keep_days=7, min_chains=1, max_chains=60, dry_run=False, owner=owner)
    assert [r.name for r in plan.delete] == [old.name]
    assert not native.path(old.name).exists()  # type: ignore[attr-defined]
    assert _status(warehouse) == {old.name: "deleted", new.name: "verified"}


def restore_snapshot(*args: Any, **kwargs: Any) -> dict[str, Any]:
    from storage.backups.restore import restore_snapshot as restore

    return restore(*args, **kwargs)


def _june_july_snapshot(settings: Settings, wh: Warehouse) -> tuple[BackupTarget, str]:
    target = backup_target(settings)
    insert_bars(wh, T0, 100, 1, close=10.0)  # June
    insert_bars(wh, T0 + timedelta(days=31), 100, 1, close=20.0)  # July
    return target, verified_snapshot(wh, target, T0 + timedelta(days=40)).name


def test_a_partition_restore_with_swap_replaces_exactly_that_partition(
    settings: Settings, warehouse: Warehouse
) -> None:
    target, name = _june_july_snapshot(settings, warehouse)
    insert_bars(warehouse, T0, 100, 2, close=11.0)  # June rewritten after the snapshot (the damage to undo)
    insert_bars(warehouse, T0 + timedelta(days=31), 100, 2, close=21.0)  # July changed too: must stay as it is now
    insert_bars(warehouse, T0 + timedelta(days=62), 50, 1, close=30.0)  # and August is newer than the snapshot
    result = restore_snapshot(warehouse, target, name, ["bars_1m"], ["202406"], swap=True)
    live = warehouse.query_df(
        "SELECT toYYYYMM(ts) AS month, count() AS rows, min(close) AS low, max(close) AS high "
        "FROM bars_1m FINAL GROUP BY month ORDER BY month"
    )
    assert live.rows() == [(202406, 100, 10.0, 10.0), (202407, 100, 21.0, 21.0), (202408, 50, 30.0, 30.0)]
    aside = next(c for c in result["changes"] if "replaced" in c and "202406" in c)
    kept_in = aside.rsplit(" are in ", 1)[1]
    assert warehouse.query_scalar(f"SELECT count() FROM {kept_in}") == 200  # both versions of the old June
    assert warehouse.query_scalar(f"SELECT max(close) FROM {kept_in} FINAL") == 11.0


def test_the_cli_partition_swap_prints_what_changed_and_where_the_old_data_is(
    settings: Settings, warehouse: Warehouse, prefect_api: None
) -> None:
    from marketops.cli import app

    _, name = _june_july_snapshot(settings, warehouse)
    insert_bars(warehouse, T0 + timedelta(days=62), 50, 1, close=30.0)
    warehouse.close()
    result = CliRunner().invoke(app, ["restore", name, "--table", "bars_1m", "--partition", "202406", "--swap"])
    assert result.exit_code == 0, result.output
    assert "partitions 202406 replaced" in result.output and "every other partition untouched" in result.output
    assert "_replaced_" in result.output
    with open_warehouse(settings) as wh:
        assert wh.query_scalar("SELECT count() FROM bars_1m") == 250  # July and August still there


def test_restore_with_force_replaces_the_target_instead_of_appending(settings: Settings, warehouse: Warehouse) -> None:
    target, name = _june_july_snapshot(settings, warehouse)
    first = restore_snapshot(warehouse, target, name, ["bars_1m"])
    assert first["tables"] == {"bars_1m": 200}
    with pytest.raises(Exception, match="--force"):
        restore_snapshot(warehouse, target, name, ["bars_1m"])
    again = restore_snapshot(warehouse, target, name, ["bars_1m"], force=True)
    assert again["tables"] == {"bars_1m": 200}  # replaced, not 400
    moved = next(c for c in again["changes"] if "moved to" in c)
    assert warehouse.query_scalar(f"SELECT count() FROM {moved.rsplit(' moved to ', 1)[1]}") == 200
    # and with a partition: only that partition of the target is replaced
    part = restore_snapshot(warehouse, target, name, ["bars_1m"], ["202407"], force=True)
    assert part["tables"] == {"bars_1m": 100}
    assert warehouse.query_scalar(f"SELECT count() FROM {first['into']}.bars_1m") == 200


def test_restore_refuses_to_swap_into_the_live_database_itself(settings: Settings, warehouse: Warehouse) -> None:
    target, name = _june_july_snapshot(settings, warehouse)
    with pytest.raises(Exception, match="cannot be the live database"):
        restore_snapshot(warehouse, target, name, into=warehouse.database, swap=True)
    assert os.path.isdir(settings.backups_dir)


def test_a_whole_table_swap_goes_through_the_warehouse_exchange_and_a_cluster_refuses_partition_surgery(
    settings: Settings, warehouse: Warehouse
) -> None:
    """The swap uses the adapter's ``exchange`` (ON CLUSTER on a cluster); partition surgery, which would run on
    one host's tables only, is refused on a cluster before anything is created."""
    target, name = _june_july_snapshot(settings, warehouse)
    insert_bars(warehouse, T0, 100, 2, close=11.0)
    result = restore_snapshot(warehouse, target, name, ["bars_1m"], swap=True)
    assert any("whole table swapped" in c for c in result["changes"])
    assert warehouse.query_scalar("SELECT max(close) FROM bars_1m FINAL WHERE toYYYYMM(ts) = 202406") == 10.0
    databases_before = warehouse.query_scalar("SELECT count() FROM system.databases")
    warehouse.cluster = "prod"  # the guard runs before any statement, so the embedded engine can stand in
    try:
        with pytest.raises(Exception, match="not supported on a cluster"):
            restore_snapshot(warehouse, target, name, ["bars_1m"], ["202406"], into="drill_x", swap=True)
    finally:
        warehouse.cluster = None
    assert warehouse.query_scalar("SELECT count() FROM system.databases") == databases_before


def test_a_merge_between_fingerprint_and_backup_does_not_fail_the_drill(
    settings: Settings, warehouse: Warehouse
) -> None:
    """Two versions of the same bars fold into one when a merge runs: the data readers see is unchanged, so the
    fingerprint the drill compares against must be too (it failed a good backup under load)."""
    insert_bars(warehouse, T0, 10, 1, close=10.0)
    insert_bars(warehouse, T0, 10, 2, close=11.0)
    before = backups.fingerprint(warehouse, warehouse.database, ["bars_1m", "runs"])
    warehouse.optimize("bars_1m")
    assert warehouse.query_scalar("SELECT count() FROM bars_1m") == 10  # the merge folded the versions
    assert backups.fingerprint(warehouse, warehouse.database, ["bars_1m", "runs"]).equals(before)
    assert int(before["rows"].sum()) == 10
