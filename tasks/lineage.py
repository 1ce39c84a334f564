"""Bind the logical assets a task declares (``@materialize("marketops://warm/bars_1m", …)``) to this
installation's URIs, so every run of a tier-writing task records what it wrote and what it read.

Tasks declare lineage where they are defined; the store each key means (database, directories, hot
backend) is only known from the settings a flow loads, so ``with_retry_policy`` binds it per run."""

from __future__ import annotations

from typing import Any

from prefect.assets import Asset
from prefect.tasks import MaterializingTask

from core.lineage import resolve_all
from core.settings import Settings

LANDING = "marketops://landing"
BACKUPS = "marketops://backups"


def warm(table: str) -> str:
    return f"marketops://warm/{table}"


def cold(dataset: str) -> str:
    return f"marketops://cold/{dataset}"


def hot(name: str) -> str:
    return f"marketops://hot/{name}"


def _keys(assets: list[Asset] | None) -> list[str]:
    return [a.key for a in assets or []]


def bind_lineage(task_obj: Any, settings: Settings, sources: list[str] | None = None) -> Any:
    """``task_obj`` with concrete asset URIs; plain tasks come back unchanged.

    ``sources`` replaces the upstream assets (an ingest of explicit paths reads those, not the landing)."""
    if not isinstance(task_obj, MaterializingTask):
        return task_obj
    assets = resolve_all(_keys(task_obj.assets), settings)
    deps = sources if sources is not None else resolve_all(_keys(task_obj.asset_deps), settings)
    return task_obj.with_options(assets=assets, asset_deps=list(deps))
