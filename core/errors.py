"""The error vocabulary every layer speaks.

Storage adapters translate driver exceptions into these (``raise ... from exc``) so that tasks can
decide what to retry from the type alone: only :class:`TransientStorageError` is retried.
"""

from __future__ import annotations


class MarketopsError(Exception):
    """Base of every error marketops raises on purpose."""


class ConfigError(MarketopsError):
    """Settings or arguments that cannot work (unknown format, bad identifier, missing path)."""


class StorageError(MarketopsError):
    """A storage backend refused or failed an operation."""


class TransientStorageError(StorageError):
    """A fault worth retrying: connection loss, timeout, too many parts, memory pressure."""


class PermanentStorageError(StorageError):
    """A fault a retry cannot fix: bad SQL, type mismatch, missing table."""


class WarehouseLockedError(StorageError):
    """The embedded warehouse is held by another process (chDB allows one per data path)."""


class UnreadableFileError(MarketopsError):
    """No reader accepts a source file; the reason says why in words a person can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ContractViolation(MarketopsError):
    """Data broke a pandera contract at a stage boundary. Never retried: the data will not change."""

    def __init__(self, contract: str, failures: str) -> None:
        super().__init__(f"contract {contract} violated: {failures}")
        self.contract = contract
        self.failures = failures
