"""Epoch-versioned maps: build a whole new epoch beside the live one, verify it, switch one pointer.

Readers resolve ``STATUS_MAP["epoch"]`` first and only then read ``<map>__e<epoch>``, so they see
the previous complete epoch until the pointer moves, and the pointer moves only after read-back.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

import polars as pl

from core.errors import StorageError
from core.hot_layout import EPOCH_KEY, LAST_UPDATE_KEY, LAST_WARMUP_KEY, STATUS_MAP, epoch_map, parse_epoch_map
from storage.hot.base import HotStore

LOCK_NAME = "marketops-warmup"


@dataclass(frozen=True)
class EpochWrite:
    keys: int
    bytes: int


def current_epoch(hot: HotStore) -> str | None:
    return hot.get(STATUS_MAP, EPOCH_KEY)


def last_warmup(hot: HotStore) -> dict[str, Any] | None:
    raw = hot.get(STATUS_MAP, LAST_WARMUP_KEY)
    return json.loads(raw) if raw else None


def write_epoch(hot: HotStore, epoch: str, maps: dict[str, pl.DataFrame], chunk: int) -> EpochWrite:
    """Fill ``<logical>__e<epoch>`` for every logical map from its (key, value) frame."""
    keys = written = 0
    for logical, frame in maps.items():
        entries = dict(zip(frame.get_column("key").to_list(), frame.get_column("value").to_list(), strict=True))
        written += hot.put_all_chunked(epoch_map(logical, epoch), entries, chunk)
        keys += len(entries)
    return EpochWrite(keys, written)


def verify_epoch(hot: HotStore, epoch: str, maps: dict[str, pl.DataFrame], sample: int, seed: int = 0) -> list[str]:
    """Problems found reading the epoch back: sizes, and a sample of values byte for byte.

    Only the sampled rows are taken out of the frames: turning every value into a Python string again
    (the writer already did once) cost more than the read-back itself.
    """
    problems: list[str] = []
    rng = random.Random(seed)
    for logical, frame in maps.items():
        name = epoch_map(logical, epoch)
        size = hot.size(name)
        if size != frame.height:
            problems.append(f"{name}: {size} keys, expected {frame.height}")
            continue
        rows = range(frame.height)
        chosen = frame[rows if frame.height <= sample else sorted(rng.sample(rows, sample)), :]
        keys = chosen.get_column("key").to_list()
        found = hot.get_all(name, keys)
        wrong = [k for k, v in zip(keys, chosen.get_column("value").to_list(), strict=True) if found.get(k) != v]
        if wrong:
            problems.append(f"{name}: {len(wrong)} of {len(keys)} sampled values differ (e.g. {wrong[0]})")
    return problems


def cut_over(hot: HotStore, epoch: str, record: dict[str, Any], lock_timeout_s: float = 60) -> str | None:
    """Point readers at ``epoch`` in one write, under the warmup lock; returns the previous epoch."""
    with hot.lock(LOCK_NAME, lock_timeout_s):
        previous = current_epoch(hot)
        hot.set(STATUS_MAP, EPOCH_KEY, epoch)
        hot.set(STATUS_MAP, LAST_WARMUP_KEY, json.dumps(record, default=str))
        return previous


def last_update(hot: HotStore) -> dict[str, Any] | None:
    raw = hot.get(STATUS_MAP, LAST_UPDATE_KEY)
    return json.loads(raw) if raw else None


def update_live(
    hot: HotStore, maps: dict[str, pl.DataFrame], record: dict[str, Any], chunk: int, lock_timeout_s: float = 60
) -> tuple[str, EpochWrite] | None:
    """Overwrite the given keys in the live epoch's maps (no new epoch); None when there is no live epoch.

    Under the warmup lock, so a rebuild never switches epochs half-way through an update: the keys
    land in the epoch readers are on, and a rebuild that read the warm tier earlier is caught by the
    freshness repair that follows every rebuild.
    """
    with hot.lock(LOCK_NAME, lock_timeout_s):
        epoch = current_epoch(hot)
        if epoch is None:
            return None
        written = write_epoch(hot, epoch, maps, chunk)
        hot.set(STATUS_MAP, LAST_UPDATE_KEY, json.dumps(record | {"epoch": epoch, "keys": written.keys}, default=str))
        return epoch, written


def live_values(hot: HotStore, logical: str, keys: list[str] | None = None) -> dict[str, str]:
    """Values of the live epoch's ``logical`` map (all keys, or ``keys``); empty without an epoch."""
    epoch = current_epoch(hot)
    if epoch is None:
        return {}
    name = epoch_map(logical, epoch)
    return hot.get_all(name, keys if keys is not None else hot.keys(name))


def touch_last_warmup(hot: HotStore, changes: dict[str, Any]) -> None:
    record = (last_warmup(hot) or {}) | changes
    hot.set(STATUS_MAP, LAST_WARMUP_KEY, json.dumps(record, default=str))


def drop_other_epochs(hot: HotStore, keep: str) -> list[str]:
    """Destroy every epoch map but ``keep``'s: the replaced epoch and leftovers of killed warmups."""
    if current_epoch(hot) != keep:
        raise StorageError(f"refusing to drop epochs: the live epoch is {current_epoch(hot)}, not {keep}")
    dropped = []
    for name in hot.map_names():
        parsed = parse_epoch_map(name)
        if parsed and parsed[1] != keep:
            hot.destroy(name)
            dropped.append(name)
    return dropped


def health(hot: HotStore, expected: dict[str, int]) -> list[str]:
    """Why the hot tier needs a warmup (empty when it does not): pointer, maps and sizes."""
    epoch = current_epoch(hot)
    if epoch is None:
        return ["no epoch pointer in the status map (empty or restarted hot store)"]
    problems = []
    for logical, count in expected.items():
        size = hot.size(epoch_map(logical, epoch))
        if size < count:
            problems.append(f"{epoch_map(logical, epoch)} holds {size} keys, the warm store says {count}")
    return problems
