"""The hot-store interface: named maps of string keys to JSON string values (Hazelcast's model)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from contextlib import AbstractContextManager
from types import TracebackType
from typing import ClassVar


class HotStore(ABC):
    """Maps of ``str -> str``; values are JSON documents with explicit field names."""

    backend: ClassVar[str]

    @abstractmethod
    def get(self, map_name: str, key: str) -> str | None: ...

    @abstractmethod
    def set(self, map_name: str, key: str, value: str) -> None:
        """Write one value without returning the previous one (cheaper than put on Hazelcast)."""

    @abstractmethod
    def put_all(self, map_name: str, entries: Mapping[str, str]) -> None:
        """Write many values at once; callers bound the chunk size."""

    @abstractmethod
    def get_all(self, map_name: str, keys: list[str]) -> dict[str, str]: ...

    @abstractmethod
    def size(self, map_name: str) -> int: ...

    @abstractmethod
    def keys(self, map_name: str) -> list[str]: ...

    @abstractmethod
    def destroy(self, map_name: str) -> None:
        """Drop a whole map."""

    @abstractmethod
    def map_names(self) -> list[str]: ...

    @abstractmethod
    def lock(self, name: str, timeout_s: float) -> AbstractContextManager[None]:
        """Exclusive across every client of this store (a CP FencedLock on Hazelcast when available)."""

    @abstractmethod
    def close(self) -> None: ...

    def put_all_chunked(self, map_name: str, entries: Mapping[str, str], chunk: int) -> int:
        """``put_all`` in bounded chunks (one huge putAll can exhaust a member's memory); returns bytes written."""
        items = list(entries.items())
        written = 0
        for start in range(0, len(items), chunk):
            part = dict(items[start : start + chunk])
            self.put_all(map_name, part)
            written += sum(len(k) + len(v) for k, v in part.items())
        return written

    def __enter__(self) -> HotStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
