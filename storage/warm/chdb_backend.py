"""``ChdbWarehouse``: the ClickHouse engine in-process, files under ``$MARKETOPS_HOME/warehouse``."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import polars as pl
import pyarrow as pa
from chdb import session as chdb_session

from core.errors import PermanentStorageError, WarehouseLockedError
from core.identifiers import check_sql_name
from storage.warm.base import Params, Warehouse
from storage.warm.chdb_lock import ProcessLock
from storage.warm.errors import translate


@dataclass
class _OpenPath:
    session: Any
    lock: ProcessLock
    users: int = 0
    guard: threading.RLock = field(default_factory=threading.RLock)


# chDB runs one embedded server per process: every adapter in this process that names the same
# path shares one session; a second path is refused until the first is closed.
_REGISTRY: dict[Path, _OpenPath] = {}
_REGISTRY_GUARD = threading.Lock()


def _config_xml(backups_dir: Path) -> str:
    return (
        "<clickhouse>\n"
        f"  <backups><allowed_path>{backups_dir}</allowed_path></backups>\n"
        "  <logger><level>warning</level><console>0</console></logger>\n"
        "</clickhouse>\n"
    )


def _quote(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return _param_text(value)


def _param_text(value: Any) -> str:
    """A parameter in ClickHouse's text form: chDB passes values through as text, unlike clickhouse-connect."""
    if isinstance(value, (list, tuple, set)):
        return "[" + ",".join(_quote(v) for v in value) + "]"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        naive = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value
        return naive.isoformat(sep=" ")
    return str(value)


class ChdbWarehouse(Warehouse):
    """Embedded warehouse. Safe to share between threads; one process per data path."""

    backend: ClassVar[str] = "chdb"
    arrow_compat: ClassVar[pl.CompatLevel] = pl.CompatLevel.newest()

    def __init__(self, data_dir: Path, database: str, backups_dir: Path, lock_timeout_s: float = 30.0) -> None:
        self.data_dir = data_dir.resolve()
        self.database = check_sql_name(database)
        self._closed = False
        with _REGISTRY_GUARD:
            other = next((p for p in _REGISTRY if p != self.data_dir), None)
            if other is not None:
                raise WarehouseLockedError(
                    f"this process already has the embedded warehouse {other} open; "
                    "chDB serves one data path per process"
                )
            entry = _REGISTRY.get(self.data_dir)
            if entry is None:
                entry = self._open(backups_dir, lock_timeout_s)
                _REGISTRY[self.data_dir] = entry
            entry.users += 1
        self._entry = entry

    def _open(self, backups_dir: Path, lock_timeout_s: float) -> _OpenPath:
        lock = ProcessLock(self.data_dir.parent / f".{self.data_dir.name}.lock")
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            backups_dir.mkdir(parents=True, exist_ok=True)
            lock.acquire(lock_timeout_s)
        except OSError as exc:
            raise PermanentStorageError(f"cannot open the embedded warehouse at {self.data_dir}: {exc}") from exc
        try:
            config = self.data_dir.parent / f".{self.data_dir.name}.config.xml"
            config.write_text(_config_xml(backups_dir.resolve()))
            sess = chdb_session.Session(f"{self.data_dir}?config-file={config}")
            sess.query(f"CREATE DATABASE IF NOT EXISTS {self.database}")
            sess.query(f"USE {self.database}")
        except Exception as exc:
            lock.release()
            raise translate(exc, "opening the embedded warehouse") from exc
        return _OpenPath(session=sess, lock=lock)

    @classmethod
    def from_settings(cls, settings: Any) -> ChdbWarehouse:
        return cls(
            settings.warehouse_dir, settings.clickhouse_database, settings.backups_dir, settings.chdb_lock_timeout_s
        )

    def _query(self, sql: str, fmt: str, params: Params | None) -> Any:
        bound = {k: _param_text(v) for k, v in params.items()} if params else None
        # One call into chDB at a time per process: a thread waiting on chDB's internal mutex holds
        # the GIL, which a Python() insert inside chDB needs -> deadlock. chDB serializes anyway.
        try:
            with self._entry.guard:
                return self._entry.session.query(sql, fmt, params=bound)
        except Exception as exc:
            raise translate(exc, "warehouse query failed") from exc

    def execute(self, sql: str, params: Params | None = None) -> None:
        self._query(sql, "CSV", params)

    def query_arrow(self, sql: str, params: Params | None = None) -> pa.Table:
        result = self._query(sql, "ArrowTable", params)
        return result if isinstance(result, pa.Table) else pa.table({})

    def _insert(self, table: str, columns: list[str], data: pa.Table, settings: dict[str, str]) -> None:
        names = ", ".join(columns)
        settings_sql = ", ".join(f"{k} = '{v}'" for k, v in settings.items())
        # chDB's Python() table function resolves the name by searching live frames, other threads'
        # included; the name may exist in one frame at a time, so it is bound only under the lock.
        with self._entry.guard:
            arrow_batch = data
            try:
                self.execute(
                    f"INSERT INTO {table} ({names}) SETTINGS {settings_sql} SELECT {names} FROM Python(arrow_batch)"
                )
            finally:
                del arrow_batch

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with _REGISTRY_GUARD:
            self._entry.users -= 1
            if self._entry.users == 0:
                try:
                    self._entry.session.close()
                finally:
                    self._entry.lock.release()
                    _REGISTRY.pop(self.data_dir, None)
