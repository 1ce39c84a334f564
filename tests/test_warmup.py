"""The warmup flow on the embedded hot store: values equal the warm tier, atomic cutover, restart check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from core.hot_layout import LATEST_MAP, STATUS_MAP, epoch_map, latest_values, recent_map, recent_values
from core.samples import SampleSpec, generate
from core.settings import Settings
from storage.hot import open_hot_store
from storage.hot.epochs import current_epoch, last_warmup
from storage.landing import write_file
from storage.warm import open_warehouse
from storage.warm.hot_source import latest_bars, recent_bars

pytestmark = pytest.mark.usefixtures("prefect_api")


def _ingest(settings: Settings, days: int = 2, start_day: int = 3) -> None:
    from datetime import date

    from flows.ingest import ingest

    for sample in generate(
        SampleSpec(symbols=3, days=days, inject=False, fx_share=0.34, start=date(2024, 6, start_day))
    ):
        write_file(settings.default_landing_dir, sample.relative_path, sample.data)
    ingest()


def _hot_map(settings: Settings, logical: str) -> dict[str, str]:
    with open_hot_store(settings) as hot:
        epoch = current_epoch(hot)
        assert epoch is not None
        name = epoch_map(logical, epoch)
        return hot.get_all(name, hot.keys(name))


def test_warmup_fills_every_map_with_the_warm_tiers_values(settings: Settings) -> None:
    from flows.warmup import warmup

    _ingest(settings)
    result = warmup()
    assert result["status"] == "rebuilt" and result["keys"] == 3 * (1 + len(settings.hot_timeframes))
    with open_warehouse(settings) as wh:
        expected_latest = dict(latest_values(latest_bars(wh)).iter_rows())
        expected_1h = dict(recent_values(recent_bars(wh, 60, settings.hot_recent_bars)).iter_rows())
    assert _hot_map(settings, LATEST_MAP) == expected_latest
    assert _hot_map(settings, recent_map("1h")) == expected_1h
    btc = json.loads(expected_latest["binance:BTCUSDT"])
    assert btc["ts"] == "2024-06-04T23:59:00Z" and set(btc) >= {
        "venue",
        "symbol",
        "open",
        "high",
        "low",
        "close",
        "volume",
    }
    hourly = json.loads(expected_1h["binance:BTCUSDT"])
    assert (
        len(hourly) == 48 and hourly[0]["ts"] == "2024-06-03T00:00:00Z" and all(bar["minutes"] == 60 for bar in hourly)
    )


def test_a_second_warmup_without_new_data_changes_only_timestamps(settings: Settings) -> None:
    from flows.warmup import warmup

    _ingest(settings, days=1)
    first = warmup()
    before = {logical: _hot_map(settings, logical) for logical in (LATEST_MAP, recent_map("5m"))}
    with open_hot_store(settings) as hot:
        record_before = last_warmup(hot)
    second = warmup()
    assert second["status"] == "unchanged" and second["epoch"] == first["epoch"]
    assert {logical: _hot_map(settings, logical) for logical in before} == before
    with open_hot_store(settings) as hot:
        record_after = last_warmup(hot)
    assert record_before is not None and record_after is not None
    assert record_after["checked_at"] != record_before["checked_at"]
    assert {k: v for k, v in record_after.items() if k != "checked_at"} == {
        k: v for k, v in record_before.items() if k != "checked_at"
    }


def test_new_data_makes_a_new_epoch_and_drops_the_old_one(settings: Settings) -> None:
    from flows.warmup import warmup

    _ingest(settings, days=1)
    first = warmup()
    _ingest(settings, days=1, start_day=4)
    second = warmup()
    assert second["status"] == "rebuilt" and second["epoch"] != first["epoch"] and second["replaced"] == first["epoch"]
    with open_hot_store(settings) as hot:
        names = hot.map_names()
    assert all(first["epoch"] not in name for name in names)
    assert json.loads(_hot_map(settings, LATEST_MAP)["binance:BTCUSDT"])["ts"] == "2024-06-04T23:59:00Z"


KILLED_WARMUP = textwrap.dedent(
    """
    import os
    import storage.hot.epochs as epochs
    from core.settings import load_settings
    from tasks.warmup import rebuild_hot

    real_put = epochs.HotStore.put_all_chunked
    calls = []
    def put_then_die(self, name, entries, chunk):
        calls.append(name)
        if len(calls) == 3:
            os._exit(9)  # killed while the new epoch is half written
        return real_put(self, name, entries, chunk)
    epochs.HotStore.put_all_chunked = put_then_die
    rebuild_hot.fn(load_settings(), True)
    """
)


def test_a_warmup_killed_part_way_leaves_readers_on_the_previous_epoch(settings: Settings) -> None:
    from flows.warmup import warmup

    _ingest(settings, days=1)
    first = warmup()
    before = _hot_map(settings, recent_map("1m"))
    child = subprocess.run(
        [sys.executable, "-c", KILLED_WARMUP], capture_output=True, text=True, timeout=300, env=os.environ.copy()
    )
    assert child.returncode == 9, child.stderr[-2000:]
    with open_hot_store(settings) as hot:
        assert current_epoch(hot) == first["epoch"]
        orphans = [n for n in hot.map_names() if "__e" in n and first["epoch"] not in n]
    assert orphans  # the half-written epoch exists ...
    assert _hot_map(settings, recent_map("1m")) == before  # ... but readers still get the complete one
    again = warmup(rebuild=True)
    with open_hot_store(settings) as hot:
        assert not [n for n in hot.map_names() if "__e" in n and again["epoch"] not in n]  # leftovers cleaned


def test_the_restart_check_rebuilds_a_lost_hot_store_and_otherwise_does_nothing(settings: Settings) -> None:
    from flows.warmup import warmup

    _ingest(settings, days=1)
    assert warmup(mode="check")["problems"]  # never warmed: needs one
    warmup()
    assert warmup(mode="auto") == {"status": "checked", "problems": []}
    settings.hot_path.unlink()  # the hot store "restarts" empty
    for suffix in ("-wal", "-shm"):
        settings.hot_path.with_name(settings.hot_path.name + suffix).unlink(missing_ok=True)
    rebuilt = warmup(mode="auto")
    assert rebuilt["status"] == "rebuilt" and "no epoch pointer" in rebuilt["problems"][0]
    with open_hot_store(settings) as hot:
        assert hot.get(STATUS_MAP, "epoch") == rebuilt["epoch"]
    assert len(_hot_map(settings, LATEST_MAP)) == 3


def test_the_latest_feature_vector_is_served_once_caches_are_built(settings: Settings) -> None:
    from flows.caches import caches
    from flows.warmup import warmup

    _ingest(settings, days=2)
    caches()
    result = warmup()
    assert result["status"] == "rebuilt"
    features = _hot_map(settings, "features_latest")
    assert len(features) == 3
    btc = json.loads(features["binance:BTCUSDT"])
    assert btc["ts"] == "2024-06-04T23:59:00Z" and {"rsi_14", "ema_20", "atr_14", "zscore_60"} <= set(btc)
