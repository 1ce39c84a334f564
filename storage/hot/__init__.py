"""The hot tier: latest state for trading services, rebuilt from warm after a restart."""

from storage.hot.base import HotStore
from storage.hot.factory import open_hot_store

__all__ = ["HotStore", "open_hot_store"]
