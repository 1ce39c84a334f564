"""Settings choose where backups go; nothing else branches on the backup driver.

It sits above both targets, so ``target`` (the interface) and ``clickhouse_backup_tool`` (one implementation)
never import each other.
"""

from __future__ import annotations

from core.errors import ConfigError
from core.settings import Settings
from storage.backups.clickhouse_backup_tool import ClickhouseBackupTarget
from storage.backups.target import BackupTarget, DirectoryBackupTarget, Owner


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


def owner_of(settings: Settings, current: BackupTarget) -> Owner:
    """The target that wrote a snapshot, from the location recorded with it.

    After a switch of ``MARKETOPS_BACKUP_DRIVER`` the older snapshots still belong to the driver that wrote
    them: retention must delete their data through that driver (not mark them deleted and orphan their
    directories), and drills and restores must read them through it.
    """
    built: dict[str, BackupTarget] = {}

    def resolve(location: str) -> BackupTarget:
        if location.startswith("clickhouse-backup:"):
            kind = "tool"
        elif location.startswith("Disk("):
            kind = "disk"
        elif location.startswith("File("):
            kind = "file"
        else:
            return current
        if kind not in built:
            if kind == "tool":
                built[kind] = (
                    current
                    if isinstance(current, ClickhouseBackupTarget)
                    else ClickhouseBackupTarget.from_settings(settings)
                )
            elif isinstance(current, DirectoryBackupTarget) and bool(current.disk) == (kind == "disk"):
                built[kind] = current
            elif kind == "disk":
                if not (settings.clickhouse_backup_disk and settings.clickhouse_backup_path):
                    raise ConfigError(f"snapshot at {location} needs MARKETOPS_CLICKHOUSE_BACKUP_DISK and _PATH")
                built[kind] = DirectoryBackupTarget(
                    settings.clickhouse_backup_path, disk=settings.clickhouse_backup_disk
                )
            else:
                built[kind] = DirectoryBackupTarget(settings.backups_dir)
        return built[kind]

    return resolve
