"""Altinity clickhouse-backup as a backup target, for server deployments that already run it.

Snapshots are created and uploaded by the tool (``create``/``create_remote --diff-from-remote``,
``upload``), listed with ``list remote``, restored with ``restore_remote`` (into a scratch database
via ``--restore-database-mapping``) and deleted with ``delete remote``/``delete local``. The
marketops catalog, fingerprints, restore drills and chain-safe retention stay the same: the tool
moves bytes, marketops decides what is kept.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from core.errors import ConfigError, PermanentStorageError, TransientStorageError
from core.settings import Settings
from storage.backups.target import BackupTarget, check_backup_name
from storage.warm.base import Warehouse

_TIMEOUT_S = 6 * 3600


class ClickhouseBackupTarget(BackupTarget):
    def __init__(self, binary: str, config: Path) -> None:
        resolved = shutil.which(binary)
        if resolved is None:
            raise ConfigError(f"clickhouse-backup driver selected but {binary!r} is not on PATH")
        if not config.is_file():
            raise ConfigError(f"clickhouse-backup config {config} does not exist")
        self.binary = resolved
        self.config = config

    @classmethod
    def from_settings(cls, settings: Settings) -> ClickhouseBackupTarget:
        if settings.clickhouse_backup_config is None:
            raise ConfigError(
                "MARKETOPS_BACKUP_DRIVER=clickhouse-backup needs MARKETOPS_CLICKHOUSE_BACKUP_CONFIG (its config.yml)"
            )
        return cls(settings.clickhouse_backup_bin, settings.clickhouse_backup_config)

    def _run(self, *args: str) -> str:
        command = [self.binary, "--config", str(self.config), *args]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired as exc:
            raise TransientStorageError(f"clickhouse-backup {args[0]} timed out") from exc
        if done.returncode != 0:
            message = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise PermanentStorageError(f"clickhouse-backup {args[0]} failed: {message[0]}")
        return done.stdout

    def expression(self, name: str) -> str:
        return f"clickhouse-backup:{check_backup_name(name)}"

    def write(self, warehouse: Warehouse, tables: list[str], name: str, base: str | None) -> None:
        pattern = ",".join(f"{warehouse.database}.{t}" for t in tables)
        if base:
            self._run(
                "create_remote",
                "--tables",
                pattern,
                "--diff-from-remote",
                check_backup_name(base),
                check_backup_name(name),
            )
        else:
            self._run("create_remote", "--tables", pattern, check_backup_name(name))
        self._run("delete", "local", name)  # the remote copy is the snapshot; keep no second local one

    def restore_into(
        self,
        warehouse: Warehouse,
        tables: list[str],
        name: str,
        database: str,
        partitions: list[str] | None = None,
        allow_non_empty: bool = False,
    ) -> None:
        args = [
            "restore_remote",
            "--tables",
            ",".join(f"{warehouse.database}.{t}" for t in tables),
            "--restore-database-mapping",
            f"{warehouse.database}:{database}",
        ]
        if partitions:
            args += ["--partitions", ",".join(partitions)]
        self._run(*args, check_backup_name(name))
        self._run("delete", "local", name)

    def _remote(self) -> dict[str, dict[str, Any]]:
        listed = json.loads(self._run("list", "remote", "--format", "json") or "[]")
        return {str(item.get("BackupName", item.get("name"))): item for item in listed}

    def is_complete(self, name: str) -> bool:
        item = self._remote().get(name) or {}
        return bool(item) and not str(item.get("Broken", item.get("broken", ""))).strip()

    def size_bytes(self, name: str) -> int:
        item = self._remote().get(name) or {}
        return int(item.get("Size", item.get("DataSize", 0)) or 0)

    def delete(self, name: str) -> None:
        self._run("delete", "remote", check_backup_name(name))
