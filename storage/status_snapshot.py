"""What the last ``marketops status`` read from the embedded warm tier, reused while the warehouse is unchanged.

Opening the embedded engine (importing chDB, starting it, taking its lock) costs more than everything else
``status`` does. The raw figures it read are kept in ``$MARKETOPS_HOME/state/warm_status.json`` together with
a fingerprint of the warehouse's data and metadata directories (path and mtime of every table and part
directory: an insert, merge, mutation or DDL creates or renames one). The next ``status`` reuses them only
when the fingerprint is the same — the same data, so the same answers; anything time-relative (ages, the
last 24 hours) is recomputed from the raw figures against the current time. A server (``clickhouse_url``)
is always asked, so an unreachable one is always reported.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from core.settings import Settings

VERSION = 1


def _path(settings: Settings) -> Path:
    return settings.home_dir / "state" / "warm_status.json"


def fingerprint(settings: Settings) -> str | None:
    """A digest of the embedded warehouse's directories (None for a server, or before the warehouse exists).

    Tables live in ``store/<xyz>/<uuid>/<part>/``; every part change renames or creates a directory there,
    which changes the mtime of its table directory. ``metadata`` holds the DDL."""
    if settings.clickhouse_url:
        return None
    root = settings.warehouse_dir
    if not (root / "store").is_dir() or not (root / "metadata").is_dir():
        return None
    digest = hashlib.sha256()
    for top, depth in (("store", 3), ("metadata", 2)):
        stack = [(root / top, 0)]
        while stack:
            directory, level = stack.pop()
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
            for entry in entries:
                stat = entry.stat(follow_symlinks=False)
                digest.update(f"{entry.path}\0{stat.st_mtime_ns}\0{stat.st_size}\n".encode())
                if entry.is_dir(follow_symlinks=False) and level + 1 < depth:
                    stack.append((Path(entry.path), level + 1))
    return digest.hexdigest()


def read_snapshot(settings: Settings, current: str | None) -> dict[str, Any] | None:
    """The raw figures taken at fingerprint ``current``, or None (no snapshot, another fingerprint, unreadable)."""
    if current is None:
        return None
    try:
        snapshot: dict[str, Any] = json.loads(_path(settings).read_text())
    except (OSError, ValueError):
        return None
    if snapshot.get("version") != VERSION or snapshot.get("fingerprint") != current:
        return None
    return snapshot


def write_snapshot(settings: Settings, current: str | None, figures: dict[str, Any]) -> None:
    """Keep the figures read at fingerprint ``current`` (atomically; best effort: status never fails for it)."""
    if current is None:
        return
    target = _path(settings)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"version": VERSION, "fingerprint": current, **figures}, default=str))
        os.replace(tmp, target)
    except OSError:
        return
