"""A warmup's read-back catches what a broken write leaves: a missing key, a value that differs."""

from __future__ import annotations

import polars as pl

from core.hot_layout import epoch_map
from core.settings import Settings
from storage.hot import open_hot_store
from storage.hot.epochs import verify_epoch, write_epoch

EPOCH = "20240603T000000000000Z"


def _maps() -> dict[str, pl.DataFrame]:
    keys = [f"binance:S{i:03d}" for i in range(50)]
    return {
        "bars_latest_1m": pl.DataFrame({"key": keys, "value": [f'{{"n":{i}}}' for i in range(50)]}),
        "bars_recent_1h": pl.DataFrame({"key": keys[:7], "value": [f"[{i}]" for i in range(7)]}),
    }


def test_a_good_epoch_reads_back_clean(settings: Settings) -> None:
    with open_hot_store(settings) as hot:
        write_epoch(hot, EPOCH, _maps(), chunk=16)
        assert verify_epoch(hot, EPOCH, _maps(), sample=10) == []


def test_a_changed_value_and_a_missing_key_are_problems(settings: Settings) -> None:
    maps = _maps()
    with open_hot_store(settings) as hot:
        write_epoch(hot, EPOCH, maps, chunk=16)
        hot.set(epoch_map("bars_latest_1m", EPOCH), "binance:S007", '{"n":-1}')
        assert verify_epoch(hot, EPOCH, maps, sample=50) == [
            f"{epoch_map('bars_latest_1m', EPOCH)}: 1 of 50 sampled values differ (e.g. binance:S007)"
        ]
        hot.put_all(epoch_map("bars_recent_1h", EPOCH), {"binance:S999": "[]"})
        problems = verify_epoch(hot, EPOCH, maps, sample=5)  # a sample smaller than the map still counts keys
        assert f"{epoch_map('bars_recent_1h', EPOCH)}: 8 keys, expected 7" in problems
