"""``LocalColdStore``: the Parquet cache under ``$MARKETOPS_HOME/cold`` (or any shared filesystem) with atomic writes.

A reader must never see half a file: data goes to a hidden temporary name in the same directory,
is fsynced, then renamed over the target (``os.replace`` is atomic on one filesystem).
"""

from __future__ import annotations

import builtins
import os
import uuid
from pathlib import Path

import polars as pl

from core.settings import Settings
from storage.cold.base import ColdStore, check_relative

TMP_PREFIX = ".tmp-"


class LocalColdStore(ColdStore):
    """Parquet files addressed by paths relative to the cold root directory."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._made: set[Path] = set()  # directories known to exist (a build writes thousands of files)

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalColdStore:
        return cls(settings.cold_dir)

    @property
    def location(self) -> str:
        return str(self.root)

    @property
    def catalog_root(self) -> Path:
        return self.root

    def path(self, relative: str) -> Path:
        """Checked lexically (no filesystem calls): relative, no ``..``, no empty parts."""
        return self.root.joinpath(*check_relative(relative).parts)

    def uri(self, relative: str) -> str:
        return str(self.path(relative))

    def storage_options(self) -> None:
        return None

    def write_bytes(self, relative: str, data: bytes, durable: bool = True) -> None:
        """Temporary name, then rename. ``durable=False`` skips the per-file fsync for bulk builds, which
        call :meth:`sync` once before publishing their manifest (rename keeps each file whole either way)."""
        target = self.path(relative)
        if target.parent not in self._made:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(target.parent)
        tmp = target.parent / f"{TMP_PREFIX}{target.name}.{uuid.uuid4().hex}"
        try:
            with open(tmp, "wb") as handle:
                handle.write(data)
                if durable:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def read_parquet(self, relative: str) -> pl.DataFrame:
        return pl.read_parquet(self.path(relative))

    def read_last_row_group(self, relative: str) -> pl.DataFrame:
        """Reads only the footer and the last row group from disk."""
        import pyarrow.parquet as pq  # here: listing and status never pay for pyarrow

        parquet = pq.ParquetFile(self.path(relative))
        frame = pl.from_arrow(parquet.read_row_group(parquet.num_row_groups - 1))
        assert isinstance(frame, pl.DataFrame)
        return frame

    def read_bytes(self, relative: str) -> bytes:
        return self.path(relative).read_bytes()

    @staticmethod
    def sync() -> None:
        """Flush every written file to disk (one call after a bulk build instead of one fsync per file)."""
        os.sync()

    def exists(self, relative: str) -> bool:
        return self.path(relative).is_file()

    def delete(self, relative: str) -> None:
        self.path(relative).unlink(missing_ok=True)

    def sweep_temporaries(self) -> builtins.list[str]:
        """Remove what killed writers left behind (only one build runs at a time)."""
        swept = [p for p in self.root.rglob(f"{TMP_PREFIX}*") if p.is_file()] if self.root.exists() else []
        for path in swept:
            path.unlink(missing_ok=True)
        return [str(p.relative_to(self.root)) for p in swept]

    def list(self, pattern: str = "**/*.parquet") -> builtins.list[str]:
        """Visible files only: temporaries of an interrupted write are never listed."""
        return sorted(
            str(p.relative_to(self.root))
            for p in self.root.glob(pattern)
            if p.is_file() and not p.name.startswith(TMP_PREFIX)
        )
