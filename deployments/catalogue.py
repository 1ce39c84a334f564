"""The deployments declared in prefect.yaml, read as data (for tests, status and the local stack)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PREFECT_YAML = PROJECT_ROOT / "prefect.yaml"


@dataclass(frozen=True)
class DeploymentEntry:
    name: str
    entrypoint: str
    parameters: dict[str, Any] = field(default_factory=dict)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    triggers: list[dict[str, Any]] = field(default_factory=list)


def load_catalogue(path: Path = PREFECT_YAML) -> list[DeploymentEntry]:
    document = yaml.safe_load(path.read_text())
    return [
        DeploymentEntry(
            name=d["name"],
            entrypoint=d["entrypoint"],
            parameters=d.get("parameters") or {},
            schedules=d.get("schedules") or [],
            tags=d.get("tags") or [],
            triggers=d.get("triggers") or [],
        )
        for d in document.get("deployments", [])
    ]


def load_flow(entry: DeploymentEntry, root: Path = PROJECT_ROOT) -> Any:
    """Import the flow object an entrypoint (``path/to/file.py:function``) names."""
    file_part, function = entry.entrypoint.split(":")
    module_name = file_part.removesuffix(".py").replace("/", ".")
    spec = importlib.util.find_spec(module_name)
    if spec is None:
        raise ImportError(f"entrypoint module {module_name} not found (from {entry.entrypoint})")
    module = importlib.import_module(module_name)
    return getattr(module, function)
