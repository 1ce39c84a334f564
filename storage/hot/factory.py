"""Settings choose the hot backend."""

from __future__ import annotations

from core.errors import ConfigError
from core.settings import Settings
from storage.hot.base import HotStore
from storage.hot.embedded import EmbeddedHotStore


def open_hot_store(settings: Settings) -> HotStore:
    if settings.hazelcast_members:
        # The Hazelcast backend arrives with the warmup issue; refuse rather than silently use the file.
        raise ConfigError("MARKETOPS_HAZELCAST_MEMBERS is set but the Hazelcast hot store is not built yet; unset it to use the embedded store")
    return EmbeddedHotStore.from_settings(settings)
