"""chDB allows one process per data path: a second one waits, then fails naming the holder.

The lock is ours, around clickhouse-connect's chDB interface; these tests open the production adapter. A kept
block (``storage.warm.factory.engine_kept``, one per ingest run) reuses adapters and so holds the lock until it ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from core.errors import WarehouseLockedError
from core.settings import Settings
from storage.warm import open_warehouse
from storage.warm.clickhouse_backend import ClickHouseWarehouse
from storage.warm.factory import engine_kept, idle_adapters

SECOND_PROCESS = textwrap.dedent(
    """
    import sys
    from core.settings import load_settings
    from storage.warm.clickhouse_backend import ClickHouseWarehouse
    try:
        ClickHouseWarehouse.from_settings(load_settings(chdb_lock_timeout_s=1))
    except Exception as exc:
        print(type(exc).__name__, exc)
        sys.exit(3)
    print("opened")
    """
)


def test_a_second_process_fails_with_the_holder_named(settings: Settings) -> None:
    with ClickHouseWarehouse.from_settings(settings):
        child = subprocess.run(
            [sys.executable, "-c", SECOND_PROCESS], capture_output=True, text=True, timeout=120, env=os.environ.copy()
        )
    assert child.returncode == 3, child.stderr
    assert "WarehouseLockedError" in child.stdout
    assert f"pid {os.getpid()}" in child.stdout


def test_the_lock_is_released_on_close(settings: Settings) -> None:
    ClickHouseWarehouse.from_settings(settings).close()
    child = subprocess.run(
        [sys.executable, "-c", SECOND_PROCESS], capture_output=True, text=True, timeout=120, env=os.environ.copy()
    )
    assert child.returncode == 0 and "opened" in child.stdout, child.stdout + child.stderr


def test_one_process_cannot_open_two_paths(settings: Settings, tmp_path: object) -> None:
    with (
        ClickHouseWarehouse.from_settings(settings),
        pytest.raises(WarehouseLockedError, match="one data path per process"),
    ):
        ClickHouseWarehouse.embedded(settings.home_dir / "other", "marketops", settings.backups_dir)


def test_adapters_in_one_process_share_the_path(settings: Settings) -> None:
    with ClickHouseWarehouse.from_settings(settings) as first, ClickHouseWarehouse.from_settings(settings) as second:
        first.execute("CREATE TABLE t (x UInt8) ENGINE = Memory")
        first.execute("INSERT INTO t VALUES (1)")
        assert second.query_scalar("SELECT count() FROM t") == 1


def test_closing_and_reopening_in_one_process_keeps_the_data(settings: Settings) -> None:
    with ClickHouseWarehouse.from_settings(settings) as first:
        first.execute("CREATE TABLE kept (x UInt8) ENGINE = MergeTree ORDER BY x")
        first.execute("INSERT INTO kept VALUES (7)")
    with ClickHouseWarehouse.from_settings(settings) as again:  # the engine was shut down and comes back
        assert again.query_scalar("SELECT sum(x) FROM kept") == 7
    other = settings.home_dir / "other"
    with ClickHouseWarehouse.embedded(other, "marketops", settings.backups_dir) as moved:  # a new path once closed
        assert moved.query_scalar("SELECT count() FROM system.tables WHERE name = 'kept'") == 0


def _second_process_opens() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SECOND_PROCESS], capture_output=True, text=True, timeout=120, env=os.environ.copy()
    )


def test_a_kept_block_reuses_one_adapter_and_lets_the_warehouse_go_when_it_ends(settings: Settings) -> None:
    with engine_kept():
        with open_warehouse(settings) as first:
            first.execute("CREATE TABLE kept (x UInt8) ENGINE = MergeTree ORDER BY x")
        assert idle_adapters() == 1  # left open for the next task: the engine stays up, the lock stays held
        held = _second_process_opens()
        with open_warehouse(settings) as second:
            assert second is first and idle_adapters() == 0
            second.execute("INSERT INTO kept VALUES (3)")
    assert idle_adapters() == 0
    assert held.returncode == 3 and "WarehouseLockedError" in held.stdout, held.stdout + held.stderr
    after = _second_process_opens()
    assert after.returncode == 0 and "opened" in after.stdout, after.stdout + after.stderr


def test_in_a_kept_block_an_adapter_left_by_an_exception_is_closed_not_reused(settings: Settings) -> None:
    with engine_kept():
        with pytest.raises(RuntimeError), open_warehouse(settings) as broken:
            raise RuntimeError("the task failed")
        assert idle_adapters() == 0
        with open_warehouse(settings) as fresh:
            assert fresh is not broken
            assert fresh.query_scalar("SELECT 1") == 1


def test_adapters_open_at_once_in_a_kept_block_are_distinct(settings: Settings) -> None:
    with engine_kept():
        with open_warehouse(settings) as one, open_warehouse(settings) as two:
            assert one is not two  # tasks running side by side each get their own handle
        assert idle_adapters() == 2
    assert idle_adapters() == 0


def test_outside_a_kept_block_leaving_the_with_block_closes(settings: Settings) -> None:
    with open_warehouse(settings):
        pass
    assert idle_adapters() == 0
    child = _second_process_opens()
    assert child.returncode == 0 and "opened" in child.stdout, child.stdout + child.stderr
