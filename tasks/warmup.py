"""Warmup tasks: check the hot tier against the warm tier; rebuild it as a new verified epoch."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import polars as pl
from prefect import task

from core.errors import StorageError
from core.hot_layout import (
    FEATURES_MAP,
    LATEST_MAP,
    TIMEFRAME_MINUTES,
    feature_values,
    latest_values,
    new_epoch,
    recent_map,
    recent_values,
)
from core.settings import Settings
from storage.cold.factory import cold_store
from storage.cold.manifest import latest_features
from storage.hot import epochs, open_hot_store
from storage.warm import open_warehouse
from storage.warm.hot_source import latest_bars, recent_bars, source_version
from tasks.retry import task_options

_OPTIONS = task_options()


def _build_maps(settings: Settings) -> tuple[dict[str, pl.DataFrame], dict[str, int]]:
    with open_warehouse(settings) as warehouse:
        version = source_version(warehouse)
        maps = {LATEST_MAP: latest_values(latest_bars(warehouse))}
        for timeframe in settings.hot_timeframes:
            bars = recent_bars(warehouse, TIMEFRAME_MINUTES[timeframe], settings.hot_recent_bars)
            maps[recent_map(timeframe)] = recent_values(bars)
    features = feature_values(latest_features(cold_store(settings)))
    if features.height:  # only once the caches flow has built features
        maps[FEATURES_MAP] = features
    return maps, version


@task(name="check_hot", **_OPTIONS)
def check_hot(settings: Settings) -> list[str]:
    """Problems that call for a warmup: missing pointer or maps, fewer keys than symbols in warm."""
    with open_warehouse(settings) as warehouse:
        symbols = int(warehouse.query_scalar("SELECT uniqExact(venue, symbol) FROM bars_1m") or 0)
    expected = {LATEST_MAP: symbols, **{recent_map(tf): symbols for tf in settings.hot_timeframes}}
    with open_hot_store(settings) as hot:
        return epochs.health(hot, expected) if symbols else []


@task(name="rebuild_hot", **_OPTIONS)
def rebuild_hot(settings: Settings, force: bool) -> dict[str, Any]:
    """Write a new epoch, read it back, switch the pointer, drop older epochs.

    With nothing new in the warm tier and a healthy live epoch, only the check time is recorded.
    """
    started = time.perf_counter()
    now = datetime.now(UTC)
    maps, version = _build_maps(settings)
    with open_hot_store(settings) as hot:
        live = epochs.current_epoch(hot)
        previous = epochs.last_warmup(hot) or {}
        expected = {name: frame.height for name, frame in maps.items()}
        if not force and live and previous.get("source") == version and not epochs.health(hot, expected):
            epochs.touch_last_warmup(hot, {"checked_at": now.isoformat()})
            return {
                "status": "unchanged",
                "epoch": live,
                "keys": sum(expected.values()),
                "bytes": 0,
                "seconds": time.perf_counter() - started,
            }
        epoch = new_epoch(now)
        written = epochs.write_epoch(hot, epoch, maps, settings.hot_put_chunk)
        problems = epochs.verify_epoch(hot, epoch, maps, settings.hot_verify_sample)
        if problems:  # readers stay on the live epoch; the half-good one is dropped by the next success
            raise StorageError("warmup read-back failed: " + "; ".join(problems[:5]))
        record = {
            "epoch": epoch,
            "at": now.isoformat(),
            "checked_at": now.isoformat(),
            "source": version,
            "keys": expected,
            "bytes": written.bytes,
            "seconds": round(time.perf_counter() - started, 3),
        }
        replaced = epochs.cut_over(hot, epoch, record)
        dropped = epochs.drop_other_epochs(hot, epoch)
    return {
        "status": "rebuilt",
        "epoch": epoch,
        "replaced": replaced,
        "dropped_maps": len(dropped),
        "keys": written.keys,
        "bytes": written.bytes,
        "seconds": time.perf_counter() - started,
    }
