"""The Altinity clickhouse-backup driver: runs only where the tool, its config and a server exist."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import Settings


def test_selecting_the_driver_without_the_tool_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    from storage.backups.factory import backup_target

    chosen = settings.model_copy(
        update={
            "backup_driver": "clickhouse-backup",
            "clickhouse_backup_bin": "no-such-clickhouse-backup",
            "clickhouse_backup_config": tmp_path / "config.yml",
        }
    )
    with pytest.raises(ConfigError, match="not on PATH"):
        backup_target(chosen)


@pytest.mark.skipif(
    not (
        shutil.which("clickhouse-backup")
        and os.environ.get("MARKETOPS_CLICKHOUSE_BACKUP_CONFIG")
        and os.environ.get("MARKETOPS_CLICKHOUSE_URL")
    ),
    reason=(
        "clickhouse-backup driver suite: needs the clickhouse-backup binary on PATH, "
        "MARKETOPS_CLICKHOUSE_BACKUP_CONFIG and MARKETOPS_CLICKHOUSE_URL"
    ),
)
def test_full_incremental_drill_and_prune_through_clickhouse_backup(settings: Settings) -> None:
    from storage.backups import snapshots as backups
    from storage.backups.factory import backup_target
    from storage.warm import open_warehouse
    from storage.warm.schema import migrate

    chosen = settings.model_copy(
        update={
            "backup_driver": "clickhouse-backup",
            "clickhouse_url": os.environ["MARKETOPS_CLICKHOUSE_URL"],
            "clickhouse_backup_config": Path(os.environ["MARKETOPS_CLICKHOUSE_BACKUP_CONFIG"]),
        }
    )
    target = backup_target(chosen)
    with open_warehouse(chosen) as wh:
        migrate(wh)
        full = backups.take_snapshot(wh, target, datetime(2024, 6, 1, tzinfo=UTC), force_full=True)
        inc = backups.take_snapshot(wh, target, datetime(2024, 6, 1, 6, tzinfo=UTC))
        assert inc.base == full.name
        assert backups.drill(wh, target, inc.name)[0]
        plan = backups.prune(wh, target, datetime(2024, 7, 1, tzinfo=UTC), 7, 1, 60, dry_run=False)
        assert {r.name for r in plan.keep} == {full.name, inc.name}
        wh.execute(f"DROP DATABASE IF EXISTS {wh.database}")
