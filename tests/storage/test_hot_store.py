"""One hot-store suite for every backend: embedded always, Hazelcast when MARKETOPS_HAZELCAST_MEMBERS is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from core.settings import Settings
from storage.hot.base import HotStore


@pytest.fixture(params=["embedded", "hazelcast"])
def hot(request: pytest.FixtureRequest, settings: Settings) -> Iterator[HotStore]:
    if request.param == "embedded":
        from storage.hot.embedded import EmbeddedHotStore

        store: HotStore = EmbeddedHotStore.from_settings(settings)
    else:
        members = os.environ.get("MARKETOPS_HAZELCAST_MEMBERS")
        if not members:
            pytest.skip(
                "Hazelcast suite: set MARKETOPS_HAZELCAST_MEMBERS (and MARKETOPS_HAZELCAST_CLUSTER) to run it; "
                "no member runs here"
            )
        from storage.hot.hazelcast_backend import HazelcastHotStore

        store = HazelcastHotStore.from_settings(settings.model_copy(update={"hazelcast_members": members.split(",")}))
    yield store
    store.close()


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}_"  # a shared cluster never mixes tests


def test_values_round_trip_by_map_and_key(hot: HotStore, prefix: str) -> None:
    latest = prefix + "latest"
    hot.put_all(latest, {"binance:BTCUSDT": '{"close": 1}', "binance:ETHUSDT": '{"close": 2}'})
    hot.set(prefix + "status", "epoch", "1")
    assert hot.get(latest, "binance:BTCUSDT") == '{"close": 1}'
    assert hot.get(latest, "nope") is None
    assert hot.size(latest) == 2 and hot.keys(latest) == ["binance:BTCUSDT", "binance:ETHUSDT"]
    assert hot.get_all(latest, ["binance:ETHUSDT", "nope"]) == {"binance:ETHUSDT": '{"close": 2}'}
    assert {latest, prefix + "status"} <= set(hot.map_names())
    hot.set(latest, "binance:BTCUSDT", '{"close": 3}')
    assert hot.get(latest, "binance:BTCUSDT") == '{"close": 3}'
    hot.destroy(latest)
    hot.destroy(prefix + "status")
    assert hot.size(latest) == 0 and hot.get(latest, "binance:BTCUSDT") is None


def test_chunked_put_all_writes_every_entry(hot: HotStore, prefix: str) -> None:
    entries = {f"k{i:05d}": "v" * (i % 50) for i in range(2345)}
    written = hot.put_all_chunked(prefix + "big", entries, chunk=500)
    assert hot.size(prefix + "big") == 2345
    assert written == sum(len(k) + len(v) for k, v in entries.items())
    hot.destroy(prefix + "big")


def test_the_lock_is_exclusive(hot: HotStore, prefix: str) -> None:
    with hot.lock(prefix + "lock", timeout_s=5):
        if hot.backend == "embedded":  # a second holder in another process is refused after the timeout
            import subprocess
            import sys

            from storage.hot.embedded import EmbeddedHotStore

            assert isinstance(hot, EmbeddedHotStore)

            code = (
                "from storage.hot.embedded import EmbeddedHotStore; from pathlib import Path; import sys\n"
                f"store = EmbeddedHotStore(Path({str(hot._path)!r}))\n"
                "try:\n"
                f"    with store.lock({prefix + 'lock'!r}, timeout_s=0.5): sys.exit(0)\n"
                "except Exception as exc:\n    print(type(exc).__name__); sys.exit(3)\n"
            )
            child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
            assert child.returncode == 3 and "StorageError" in child.stdout
    with hot.lock(prefix + "lock", timeout_s=5):
        pass  # released and taken again


def test_hazelcast_backend_without_members_is_a_clear_error() -> None:
    from core.errors import ConfigError
    from storage.hot.hazelcast_backend import HazelcastHotStore

    with pytest.raises(ConfigError, match="no Hazelcast members"):
        HazelcastHotStore([], "dev")
