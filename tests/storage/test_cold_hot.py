"""Cold store atomic Parquet writes and the embedded hot store's map API."""

from __future__ import annotations

import hashlib

import polars as pl
import pytest

from core.errors import ConfigError
from core.settings import Settings
from storage.cold.store import LocalColdStore


def test_parquet_write_is_atomic_and_checksummed(settings: Settings) -> None:
    store = LocalColdStore.from_settings(settings)
    frame = pl.DataFrame({"x": list(range(1000))})
    digest = store.write_parquet("timeframe=1m/venue=binance/a.parquet", frame)
    assert digest == hashlib.sha256(store.path("timeframe=1m/venue=binance/a.parquet").read_bytes()).hexdigest()
    assert store.read_parquet("timeframe=1m/venue=binance/a.parquet").equals(frame)
    # a temporary left by a killed writer is never listed
    (store.root / "timeframe=1m" / ".tmp-b.parquet.123").write_bytes(b"half")
    assert store.list() == ["timeframe=1m/venue=binance/a.parquet"]


def test_a_failed_write_leaves_no_file(settings: Settings) -> None:
    store = LocalColdStore.from_settings(settings)
    with pytest.raises(pl.exceptions.ComputeError):
        store.write_parquet("bad.parquet", pl.DataFrame({"x": [object()]}, schema={"x": pl.Object}))
    assert store.list() == [] and not store.exists("bad.parquet")


def test_cold_paths_cannot_escape_the_root(settings: Settings) -> None:
    with pytest.raises(ConfigError):
        LocalColdStore.from_settings(settings).path("../../etc/passwd")
