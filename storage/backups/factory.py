"""Settings choose where backups go; nothing else branches on the backup driver.

It sits above both targets, so ``target`` (the interface) and ``clickhouse_backup_tool`` (one implementation)
never import each other.
"""

from __future__ import annotations

from core.errors import ConfigError
from core.settings import Settings
from storage.backups.clickhouse_backup_tool import ClickhouseBackupTarget
from storage.backups.target import BackupTarget, DirectoryBackupTarget


def backup_target(settings: Settings) -> BackupTarget:
    """Embedded: File() under $MARKETOPS_HOME/backups. Server: its backup Disk, mounted at a local path,
    or Altinity clickhouse-backup when ``MARKETOPS_BACKUP_DRIVER=clickhouse-backup``."""
    if settings.backup_driver == "clickhouse-backup":
        return ClickhouseBackupTarget.from_settings(settings)
    if settings.clickhouse_url:
        if not (settings.clickhouse_backup_disk and settings.clickhouse_backup_path):
            raise ConfigError(
                "backups on a ClickHouse server need MARKETOPS_CLICKHOUSE_BACKUP_DISK (the server's backup disk) and "
                "MARKETOPS_CLICKHOUSE_BACKUP_PATH (that disk mounted here, to check, size and delete backups)"
            )
        return DirectoryBackupTarget(settings.clickhouse_backup_path, disk=settings.clickhouse_backup_disk)
    return DirectoryBackupTarget(settings.backups_dir)
