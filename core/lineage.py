"""Stable asset URIs of every tier, so Prefect's lineage reads raw files -> warm -> cold -> hot.

The same store always gets the same key whichever run writes it: warm tables are named by database
(``clickhouse://<db>/<table>``, the embedded chDB engine is ClickHouse too), cold datasets and landing
paths by their absolute directory (``file://…``), hot maps by their store (``hazelcast://<cluster>/<map>``,
or ``sqlite://<file>/<map>`` for the embedded one). Logical map names, never epoch-suffixed ones.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from core.cold_layout import DATASETS
from core.hot_layout import FEATURES_MAP, LATEST_MAP, recent_map
from core.settings import Settings

WARM_BARS = "bars_1m"
WARM_LEDGER = ("bars_1m", "quarantine_bars", "ingest_files")  # what one ingest batch writes


# Characters Prefect refuses in an asset key (``prefect.types.names``), and its length limit. Paths hold them
# often (spaces, ``#``, a percent-encoded ``venue=binance``): such a key would fail the task that declares it.
_REFUSED = frozenset("\n\r\t\0 #?&%\"'<>[]{}|\\^`")
_MAX_KEY = 512


def asset_key(scheme: str, location: str) -> str:
    """``scheme://location`` as Prefect accepts it: refused characters become ``_`` and a key that had any,
    or that is too long, ends in ``~`` and a hash of the true location, so two paths never share a key."""
    clean = "".join("_" if c in _REFUSED else c for c in location)
    key = f"{scheme}://{clean}"
    if clean == location and len(key) <= _MAX_KEY:
        return key
    digest = hashlib.sha256(location.encode()).hexdigest()[:12]
    return f"{key[: _MAX_KEY - len(digest) - 1]}~{digest}"


def warm_table(settings: Settings, table: str) -> str:
    return f"clickhouse://{settings.clickhouse_database}/{table}"


def file_uri(path: Path | str) -> str:
    return asset_key("file", Path(path).resolve().as_posix())


def landing(paths: list[Path] | list[str]) -> list[str]:
    return [file_uri(p) for p in paths]


def cold_dataset(settings: Settings, dataset: str) -> str:
    return file_uri(settings.cold_dir / dataset)


def cold_datasets(settings: Settings) -> list[str]:
    return [cold_dataset(settings, d) for d in DATASETS]


def cold_catalog(settings: Settings) -> str:
    return file_uri(settings.cold_dir / "catalog.duckdb")


def hot_map(settings: Settings, name: str) -> str:
    if settings.hot_backend == "hazelcast":
        return f"hazelcast://{settings.hazelcast_cluster}/{name}"
    return asset_key("sqlite", f"{settings.hot_path.resolve().as_posix()}/{name}")


def hot_maps(settings: Settings) -> list[str]:
    names = [LATEST_MAP, *(recent_map(tf) for tf in settings.hot_timeframes), FEATURES_MAP]
    return [hot_map(settings, n) for n in names]


def backups(settings: Settings) -> str:
    return file_uri(settings.backups_dir)


LOGICAL = "marketops://"  # the scheme tasks declare with; bound to the concrete URIs above per settings


def resolve(key: str, settings: Settings) -> list[str]:
    """Concrete asset URIs of a logical key a task declares (``marketops://<tier>/<name>``).

    ``marketops://landing`` is every landing path, ``marketops://cold/datasets`` every cold dataset and
    ``marketops://hot/maps`` every hot map; any other key names one table, dataset or map. Keys that
    are not logical are returned as they are."""
    if not key.startswith(LOGICAL):
        return [key]
    tier, _, name = key.removeprefix(LOGICAL).partition("/")
    if tier == "landing":
        return landing(settings.landing_dirs)
    if tier == "backups":
        return [backups(settings)]
    if tier == "warm":
        return [warm_table(settings, name)]
    if tier == "cold":
        return (
            cold_datasets(settings)
            if name == "datasets"
            else [cold_catalog(settings)]
            if name == "catalog"
            else [cold_dataset(settings, name)]
        )
    if tier == "hot":
        return hot_maps(settings) if name == "maps" else [hot_map(settings, name)]
    raise ValueError(f"unknown logical asset {key!r}")


def resolve_all(keys: list[str], settings: Settings) -> list[str]:
    return list(dict.fromkeys(uri for key in keys for uri in resolve(key, settings)))
