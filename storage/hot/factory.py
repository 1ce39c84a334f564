"""Settings choose the hot backend; nothing else branches on it."""

from __future__ import annotations

from core.settings import Settings
from storage.hot.base import HotStore
from storage.hot.embedded import EmbeddedHotStore


def open_hot_store(settings: Settings) -> HotStore:
    """Hazelcast when members are configured, else the embedded file; use it in a ``with`` block."""
    if settings.hazelcast_members:
        from storage.hot.hazelcast_backend import HazelcastHotStore

        return HazelcastHotStore.from_settings(settings)
    return EmbeddedHotStore.from_settings(settings)
