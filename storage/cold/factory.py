"""Settings choose where the cold tier lives; nothing else branches on it."""

from __future__ import annotations

from core.settings import Settings
from storage.cold.base import ColdStore
from storage.cold.store import LocalColdStore


def cold_store(settings: Settings) -> ColdStore:
    """``MARKETOPS_COLD_URL=s3://bucket/prefix`` -> :class:`S3ColdStore`; else the local directory
    ``$MARKETOPS_HOME/cold`` (which may sit on a shared filesystem)."""
    if settings.cold_url:
        from storage.cold.s3 import S3ColdStore  # pyarrow's S3 client, loaded only when used

        return S3ColdStore.from_settings(settings)
    return LocalColdStore.from_settings(settings)
