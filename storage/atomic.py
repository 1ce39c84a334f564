"""Write a whole file or nothing: readers never see a half-written report, manifest or landed file."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(target: Path, data: bytes) -> Path:
    """Write to a hidden temporary beside ``target``, then rename over it (atomic on one filesystem)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.part"
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target
