"""``HazelcastHotStore``: the hot tier on a Hazelcast cluster via hazelcast-python-client.

The client's defaults are wrong for an operations job: it waits forever for a cluster and retries
invocations for two minutes. Here connecting is bounded (``hazelcast_connect_timeout_s``), the
client reconnects asynchronously after a member restart, and failures map onto the marketops
error vocabulary (connection loss is transient).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

from core.errors import ConfigError, StorageError, TransientStorageError
from core.settings import Settings
from storage.hot.base import HotStore

MAP_SERVICE = "hz:impl:mapService"


class HazelcastHotStore(HotStore):
    backend: ClassVar[str] = "hazelcast"

    def __init__(
        self,
        members: list[str],
        cluster: str,
        username: str | None = None,
        password: str | None = None,
        connect_timeout_s: float = 20.0,
        invocation_timeout_s: float = 30.0,
    ) -> None:
        import hazelcast
        from hazelcast.config import ReconnectMode

        if not members:
            raise ConfigError("no Hazelcast members configured (MARKETOPS_HAZELCAST_MEMBERS)")
        options: dict[str, Any] = {
            "cluster_members": members,
            "cluster_name": cluster,
            "cluster_connect_timeout": connect_timeout_s,
            "connection_timeout": min(connect_timeout_s, 10.0),
            "invocation_timeout": invocation_timeout_s,
            "reconnect_mode": ReconnectMode.ASYNC,
            "retry_initial_backoff": 0.5,
            "retry_max_backoff": 5.0,
        }
        if username:
            options |= {"creds_username": username, "creds_password": password or ""}
        try:
            self._client = hazelcast.HazelcastClient(**options)
        except Exception as exc:
            raise TransientStorageError(
                f"cannot reach Hazelcast cluster {cluster!r} at {', '.join(members)}: {exc}"
            ) from exc

    @classmethod
    def from_settings(cls, settings: Settings) -> HazelcastHotStore:
        return cls(
            settings.hazelcast_members,
            settings.hazelcast_cluster,
            settings.hazelcast_username,
            settings.hazelcast_password.get_secret_value() if settings.hazelcast_password else None,
            settings.hazelcast_connect_timeout_s,
        )

    def _map(self, name: str) -> Any:
        return self._client.get_map(name).blocking()

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        from hazelcast.errors import HazelcastClientNotActiveError, OperationTimeoutError, TargetDisconnectedError

        try:
            return fn(*args)
        except (
            HazelcastClientNotActiveError,
            OperationTimeoutError,
            TargetDisconnectedError,
            ConnectionError,
            TimeoutError,
        ) as exc:
            raise TransientStorageError(f"hazelcast {what}: {exc}") from exc
        except Exception as exc:
            raise StorageError(f"hazelcast {what}: {exc}") from exc

    def get(self, map_name: str, key: str) -> str | None:
        value: str | None = self._call("get", self._map(map_name).get, key)
        return value

    def set(self, map_name: str, key: str, value: str) -> None:
        self._call("set", self._map(map_name).set, key, value)

    def put_all(self, map_name: str, entries: Mapping[str, str]) -> None:
        self._call("put_all", self._map(map_name).put_all, dict(entries))

    def get_all(self, map_name: str, keys: list[str]) -> dict[str, str]:
        return dict(self._call("get_all", self._map(map_name).get_all, keys)) if keys else {}

    def size(self, map_name: str) -> int:
        return int(self._call("size", self._map(map_name).size))

    def keys(self, map_name: str) -> list[str]:
        return sorted(self._call("key_set", self._map(map_name).key_set))

    def destroy(self, map_name: str) -> None:
        self._call("destroy", self._map(map_name).destroy)

    def map_names(self) -> list[str]:
        objects = self._call("get_distributed_objects", self._client.get_distributed_objects)
        return sorted(o.name for o in objects if getattr(o, "service_name", MAP_SERVICE) == MAP_SERVICE)

    @contextmanager
    def lock(self, name: str, timeout_s: float) -> Iterator[None]:
        """A CP FencedLock when the cluster runs the CP subsystem; otherwise the map's pessimistic key lock."""
        try:
            fenced = self._client.cp_subsystem.get_lock(name).blocking()
            acquired = fenced.try_lock(timeout=timeout_s)
            release = fenced.unlock
        except Exception:
            locks = self._map("marketops_locks")
            acquired = locks.try_lock(name, timeout=timeout_s)
            release = functools.partial(locks.unlock, name)
        if not acquired:
            raise StorageError(f"hazelcast lock {name!r} is held elsewhere; waited {timeout_s:g}s")
        try:
            yield
        finally:
            release()

    def close(self) -> None:
        self._client.shutdown()
