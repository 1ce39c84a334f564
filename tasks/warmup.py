"""Warmup tasks: check the hot tier against the warm tier (keys and per-symbol freshness); rebuild it as a new
verified epoch; or update only the symbols an ingest touched in the live epoch."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import polars as pl
from prefect import task
from prefect.assets import materialize

from core.errors import StorageError
from core.hot_layout import (
    FEATURES_MAP,
    LATEST_MAP,
    TIMEFRAME_MINUTES,
    epoch_map,
    feature_values,
    freshness,
    latest_values,
    new_epoch,
    recent_map,
    recent_values,
    symbol_keys,
)
from core.settings import Settings
from storage.cold.factory import cold_store
from storage.cold.manifest import latest_features
from storage.hot import epochs, open_hot_store
from storage.warm import open_warehouse
from storage.warm.base import Warehouse
from storage.warm.hot_source import (
    latest_bars,
    newest_bar_times,
    recent_bars_all,
    source_version,
    symbol_bounds,
    symbols_loaded_by,
)
from tasks.lineage import cold, hot, warm
from tasks.retry import task_options
from validation.contracts_tiers import HotPayload
from validation.fast_contracts import enforce_fast

_OPTIONS = task_options()


def _symbols_frame(keys: list[str]) -> pl.DataFrame:
    pairs = [k.split(":", 1) for k in keys]
    return pl.DataFrame(
        {"venue": [p[0] for p in pairs], "symbol": [p[1] for p in pairs]},
        schema={"venue": pl.String, "symbol": pl.String},
    )


def _keep(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return frame.filter(pl.col("key").is_in(keys))


def _build_maps(
    settings: Settings,
    symbols: pl.DataFrame | None = None,
    warehouse: Warehouse | None = None,
    steps: dict[str, float] | None = None,
) -> tuple[dict[str, pl.DataFrame], dict[str, int]]:
    """Every hot map's (key, value) frame, from the warm tier (and the cold tier's features once built);
    only ``symbols``' keys when given. Reads through ``warehouse`` when one is open already; adds the
    seconds of the warm read and of building the values to ``steps``."""
    if warehouse is None:
        with open_warehouse(settings) as opened:
            return _build_maps(settings, symbols, opened, steps)
    started = time.perf_counter()
    version = source_version(warehouse)
    bounds = symbol_bounds(warehouse, symbols)  # each symbol's newest time, read once for both readers
    latest = latest_bars(warehouse, symbols, bounds)
    timeframes = {tf: TIMEFRAME_MINUTES[tf] for tf in settings.hot_timeframes}
    recent = recent_bars_all(warehouse, timeframes, settings.hot_recent_bars, symbols=symbols, bounds=bounds)
    read = time.perf_counter()
    maps = {LATEST_MAP: latest_values(latest)}
    for timeframe in timeframes:  # one scan
        maps[recent_map(timeframe)] = recent_values(recent[timeframe])
    only = None if symbols is None else set(symbols.select("venue", "symbol").iter_rows())
    features = feature_values(latest_features(cold_store(settings), only))
    if features.height:  # only once the caches flow has built features
        maps[FEATURES_MAP] = features
    maps = {name: enforce_fast(HotPayload, frame) for name, frame in maps.items()}
    if steps is not None:
        steps["warm_read"] = steps.get("warm_read", 0.0) + read - started
        steps["values"] = steps.get("values", 0.0) + time.perf_counter() - read
    return maps, version


def _freshness(settings: Settings, symbols: pl.DataFrame | None = None) -> pl.DataFrame:
    """Newest bar per symbol in warm vs in the live hot epoch (see :func:`core.hot_layout.freshness`)."""
    with open_warehouse(settings) as warehouse:
        warm = newest_bar_times(warehouse, symbols)
    with open_hot_store(settings) as hot:
        hot_latest = epochs.live_values(hot, LATEST_MAP, symbol_keys(warm) if symbols is not None else None)
    return freshness(warm, hot_latest)


@task(name="check_hot", **_OPTIONS)
def check_hot(settings: Settings) -> dict[str, Any]:
    """What calls for a warmup: a missing pointer or maps, fewer keys than symbols in warm (``problems``,
    a rebuild), or symbols whose newest bar in hot is behind warm (``drifted``, an update of those keys)."""
    with open_warehouse(settings) as warehouse:
        warm = newest_bar_times(warehouse)
    symbols = warm.height
    expected = {LATEST_MAP: symbols, **{recent_map(tf): symbols for tf in settings.hot_timeframes}}
    with open_hot_store(settings) as hot:
        problems = epochs.health(hot, expected) if symbols else []
        hot_latest = epochs.live_values(hot, LATEST_MAP) if symbols and not problems else {}
    if problems or not symbols:
        return {"problems": problems, "drifted": []}
    fresh = freshness(warm, hot_latest)
    behind = fresh.filter(pl.col("drift"))
    if behind.height:
        first = behind.row(0, named=True)
        problems.append(
            f"{behind.height} of {symbols} symbols are behind the warm tier (e.g. {first['key']}: hot "
            f"{first['hot_ts'].isoformat() if first['hot_ts'] else 'missing'}, warm {first['warm_ts'].isoformat()})"
        )
    return {"problems": problems, "drifted": behind["key"].to_list(), "max_lag_s": fresh["lag_s"].max()}


@materialize(hot("maps"), asset_deps=[warm("bars_1m"), cold("features_1m")], name="update_hot", **_OPTIONS)
def update_hot(settings: Settings, keys: list[str], reason: str = "ingest") -> dict[str, Any]:
    """Rewrite the hot keys of ``keys`` (``venue:SYMBOL``) in the live epoch from the warm tier: the latest
    bar, the recent bars of every timeframe and, once caches ran, the feature vector. No new epoch.

    With no live epoch (a fresh or restarted hot store) nothing is written: the restart check rebuilds.
    """
    started = time.perf_counter()
    now = datetime.now(UTC)
    if not keys:
        return {"status": "nothing", "keys": 0, "symbols": 0, "seconds": 0.0}
    symbols = _symbols_frame(sorted(set(keys)))
    with open_hot_store(settings) as hot:
        epoch = epochs.current_epoch(hot)
        served = hot.size(epoch_map(LATEST_MAP, epoch)) if epoch else 0
    if not epoch:  # nothing to update (the restart check rebuilds): do not read the warm tier for it
        return {"status": "no_epoch", "keys": 0, "symbols": symbols.height, "seconds": time.perf_counter() - started}
    # The warm queries narrowed to a few symbols are cheap; narrowed to most of them they cost more than
    # reading every symbol (the IN-lists are applied after the join), so those read all and keep ours.
    maps, version = _build_maps(settings, symbols if symbols.height * 2 < served else None)
    maps = {name: _keep(frame, keys) for name, frame in maps.items()}
    record = {"at": now.isoformat(), "reason": reason, "symbols": symbols.height, "source": version}
    with open_hot_store(settings) as hot:
        done = epochs.update_live(hot, maps, record, settings.hot_put_chunk)
    if done is None:
        return {"status": "no_epoch", "keys": 0, "symbols": symbols.height, "seconds": time.perf_counter() - started}
    epoch, written = done
    return {
        "status": "updated",
        "epoch": epoch,
        "symbols": symbols.height,
        "keys": written.keys,
        "bytes": written.bytes,
        "seconds": time.perf_counter() - started,
    }


@materialize(
    hot("maps"), asset_deps=[warm("bars_1m"), cold("features_1m")], name="refresh_hot_after_ingest", **_OPTIONS
)
def refresh_hot_after_ingest(settings: Settings, run_id: str) -> dict[str, Any]:
    """The hot keys of every symbol the ingest run ``run_id`` loaded bars for, updated in the live epoch."""
    with open_warehouse(settings) as warehouse:
        touched = symbols_loaded_by(warehouse, run_id)
    return update_hot.fn(settings, symbol_keys(touched), f"ingest {run_id}")


@materialize(hot("maps"), asset_deps=[warm("bars_1m"), cold("features_1m")], name="rebuild_hot", **_OPTIONS)
def rebuild_hot(settings: Settings, force: bool) -> dict[str, Any]:
    """Write a new epoch, read it back, switch the pointer, drop older epochs.

    With nothing new in the warm tier and a healthy live epoch, only the check time is recorded.
    """
    started = time.perf_counter()
    now = datetime.now(UTC)
    steps: dict[str, float] = {}  # seconds per step, for the run's summary and bench/warmup.py
    # One warm session for the read and for the check after the cutover (opening one costs ~0.1 s).
    with open_warehouse(settings) as warehouse:
        steps["warm_open"] = time.perf_counter() - started
        maps, version = _build_maps(settings, warehouse=warehouse, steps=steps)
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
            mark = time.perf_counter()
            written = epochs.write_epoch(hot, epoch, maps, settings.hot_put_chunk)
            steps["put"] = time.perf_counter() - mark
            problems = epochs.verify_epoch(hot, epoch, maps, settings.hot_verify_sample)
            steps["read_back"] = time.perf_counter() - mark - steps["put"]
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
            mark = time.perf_counter()
            replaced = epochs.cut_over(hot, epoch, record)
            dropped = epochs.drop_other_epochs(hot, epoch)
            steps["cutover"] = time.perf_counter() - mark
        # An ingest that committed after the warm tier was read above updated the epoch readers were on
        # then; bring the new one up to date for those symbols (usually none). Every insert raises the
        # newest version stamp or the row count, so an unchanged source needs no per-symbol comparison.
        mark = time.perf_counter()
        moved = source_version(warehouse) != version
    behind = _freshness(settings).filter(pl.col("drift"))["key"].to_list() if moved else []
    repaired = update_hot.fn(settings, behind, "after rebuild") if behind else {"symbols": 0}
    steps["catch_up"] = time.perf_counter() - mark
    return {
        "status": "rebuilt",
        "epoch": epoch,
        "replaced": replaced,
        "dropped_maps": len(dropped),
        "repaired_symbols": repaired["symbols"],
        "keys": written.keys,
        "bytes": written.bytes,
        "seconds": time.perf_counter() - started,
        "steps": {name: round(seconds, 4) for name, seconds in steps.items()},
    }
