"""The hot tier follows the warm tier between rebuilds: every ingest that loads bars updates the keys of the
symbols it touched in the live epoch, and the restart check finds and repairs per-symbol drift."""

from __future__ import annotations

import json

import pytest

from core.hot_layout import LATEST_MAP, STATUS_MAP, epoch_map, latest_values, recent_map, recent_values
from core.settings import Settings
from storage.hot import open_hot_store
from storage.hot.epochs import current_epoch, last_update
from storage.warm import open_warehouse
from storage.warm.hot_source import latest_bars, recent_bars
from tests.test_warmup import _hot_map, _ingest

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_an_ingest_updates_the_touched_symbols_in_the_live_epoch(settings: Settings) -> None:
    """Before: ingest loaded new bars and the hot tier kept serving the old latest bar until a full warmup."""
    from flows.warmup import warmup

    _ingest(settings, days=1, start_day=3)
    epoch = warmup()["epoch"]
    assert json.loads(_hot_map(settings, LATEST_MAP)["binance:BTCUSDT"])["ts"] == "2024-06-03T23:59:00Z"

    _ingest(settings, days=1, start_day=4)  # the next day's files: no warmup after it

    with open_warehouse(settings) as wh:
        expected_latest = dict(latest_values(latest_bars(wh)).iter_rows())
        expected_5m = dict(recent_values(recent_bars(wh, 5, settings.hot_recent_bars)).iter_rows())
    assert _hot_map(settings, LATEST_MAP) == expected_latest
    assert _hot_map(settings, recent_map("5m")) == expected_5m
    assert json.loads(expected_latest["binance:BTCUSDT"])["ts"] == "2024-06-04T23:59:00Z"
    with open_hot_store(settings) as hot:
        assert current_epoch(hot) == epoch  # no rebuild: the same epoch, updated in place
        update = last_update(hot)
    assert update is not None and update["symbols"] == 3 and update["epoch"] == epoch
    assert warmup(mode="check")["problems"] == []


def test_the_check_compares_freshness_per_symbol_and_repairs_drift(settings: Settings) -> None:
    """Before: warmup-check compared key counts only and reported no problem while hot lagged warm."""
    from flows.warmup import warmup

    _ingest(settings, days=2, start_day=3)
    epoch = warmup()["epoch"]
    with open_hot_store(settings) as hot:  # the hot value of one symbol falls a day behind (a lost update)
        name = epoch_map(LATEST_MAP, epoch)
        value = json.loads(hot.get(name, "binance:ETHUSDT") or "{}")
        hot.set(name, "binance:ETHUSDT", json.dumps(value | {"ts": "2024-06-03T23:59:00Z"}))

    checked = warmup(mode="check")
    assert checked["status"] == "checked"
    assert len(checked["problems"]) == 1 and "1 of 3 symbols are behind" in checked["problems"][0]
    assert "binance:ETHUSDT" in checked["problems"][0]

    repaired = warmup(mode="auto")
    assert repaired["status"] == "repaired" and repaired["symbols"] == 1 and repaired["epoch"] == epoch
    with open_warehouse(settings) as wh:
        assert _hot_map(settings, LATEST_MAP) == dict(latest_values(latest_bars(wh)).iter_rows())
    assert warmup(mode="auto") == {"status": "checked", "problems": []}
    with open_hot_store(settings) as hot:
        assert hot.get(STATUS_MAP, "epoch") == epoch


def test_an_ingest_before_the_first_warmup_leaves_the_rebuild_to_the_check(settings: Settings) -> None:
    from flows.warmup import warmup

    _ingest(settings, days=1)
    with open_hot_store(settings) as hot:
        assert current_epoch(hot) is None and last_update(hot) is None
    assert warmup(mode="auto")["status"] == "rebuilt"
