"""Where native BACKUPs go: the destination expression and the file-level operations ClickHouse lacks.

ClickHouse can write and read a backup but cannot tell whether one is complete, how big it is, or
delete it. For a directory we can see (the embedded default, or a server's backup disk mounted
here) those come from the filesystem: ClickHouse writes the ``.backup`` metadata file last, so its
presence proves the backup finished.
"""

from __future__ import annotations

import re
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

from core.errors import ConfigError
from storage.warm.base import Warehouse

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def check_backup_name(name: str) -> str:
    if not NAME.match(name):
        raise ConfigError(f"invalid backup name {name!r}")
    return name


class BackupTarget(ABC):
    """Where snapshots live and how they are written and read back."""

    @abstractmethod
    def expression(self, name: str) -> str:
        """The SQL destination/source of backup ``name`` (or a label, for tool-driven targets)."""

    def write(self, warehouse: Warehouse, tables: list[str], name: str, base: str | None) -> None:
        """Take snapshot ``name`` (incremental on ``base`` when given); native BACKUP by default."""
        warehouse.backup(tables, self.expression(name), self.expression(base) if base else None)

    def restore_into(
        self,
        warehouse: Warehouse,
        tables: list[str],
        name: str,
        database: str,
        partitions: list[str] | None = None,
        allow_non_empty: bool = False,
    ) -> None:
        """Restore ``tables`` of snapshot ``name`` into ``database``; native RESTORE by default."""
        warehouse.restore(tables, self.expression(name), database, partitions, allow_non_empty)

    def location(self, name: str) -> str:
        """Where a person finds the snapshot (a URL or a label)."""
        return self.expression(name)

    @abstractmethod
    def is_complete(self, name: str) -> bool: ...

    @abstractmethod
    def size_bytes(self, name: str) -> int: ...

    @abstractmethod
    def delete(self, name: str) -> None: ...


# The target that holds a snapshot, given the location recorded with it (the driver that wrote it).
Owner = Callable[[str], "BackupTarget"]


class DirectoryBackupTarget(BackupTarget):
    """Backups as directories under ``root``.

    Every expression is relative to the root (``File('name')`` resolves against the engine's
    ``backups.allowed_path``, which is this root; ``Disk('d', 'name')`` against the disk), so the
    ``base_backup`` an incremental records inside its ``.backup`` metadata is relative too: a backups
    directory moved elsewhere (a new home, a restored volume) still restores its incrementals.
    """

    def __init__(self, root: Path, disk: str | None = None) -> None:
        self.root = root.resolve()
        self.disk = disk

    def path(self, name: str) -> Path:
        return self.root / check_backup_name(name)

    def expression(self, name: str) -> str:
        check_backup_name(name)
        if self.disk:
            return f"Disk('{self.disk}', '{name}')"
        return f"File('{name}')"

    def location(self, name: str) -> str:
        return self.path(name).as_uri()

    def is_complete(self, name: str) -> bool:
        return (self.path(name) / ".backup").is_file()

    def size_bytes(self, name: str) -> int:
        target = self.path(name)
        return sum(p.stat().st_size for p in target.rglob("*") if p.is_file()) if target.exists() else 0

    def delete(self, name: str) -> None:
        shutil.rmtree(self.path(name), ignore_errors=True)
