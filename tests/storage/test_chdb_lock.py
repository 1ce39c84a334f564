"""chDB allows one process per data path: a second one waits, then fails naming the holder.

The lock is ours, around clickhouse-connect's chDB interface; these tests open the production adapter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from core.errors import WarehouseLockedError
from core.settings import Settings
from storage.warm.clickhouse_backend import ClickHouseWarehouse

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
