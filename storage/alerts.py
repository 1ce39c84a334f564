"""The local alert log: one JSON object per line in ``$MARKETOPS_HOME/alerts.jsonl``, always written."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class AlertLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, alert: dict[str, Any]) -> None:
        """One ``O_APPEND`` write per alert, so concurrent writers never interleave lines."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"at": datetime.now(UTC).isoformat(), **alert}, default=str) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
