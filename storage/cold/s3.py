"""``S3ColdStore``: the same cold layout under ``s3://bucket/prefix`` on AWS or any S3-API server.

Atomicity comes from the object store itself: an object becomes visible only when its PUT (or its
multipart upload) completes, so a writer killed mid-upload leaves nothing under the key. Each file
is serialized whole in memory before the upload starts, so no partial Parquet is ever sent. The
manifest is written after every data object, exactly as on a local disk.

The client is pyarrow's ``S3FileSystem`` (the AWS C++ SDK already inside the pyarrow we depend on):
no second S3 library at run time, and polars reads the same objects with the same credentials
through :meth:`S3ColdStore.storage_options`. Credentials live in ``SecretStr`` settings and never
appear in ``repr``, ``location`` or errors.
"""

from __future__ import annotations

import builtins
from pathlib import Path
from urllib.parse import urlsplit

from pyarrow import fs as pafs

from core.errors import ConfigError, TransientStorageError
from core.settings import Settings
from storage.cold.base import ColdStore, check_relative, glob_match

_TRANSIENT = ("NETWORK_CONNECTION", "timed out", "timeout", "SLOW_DOWN", "Connection refused", "503", "RequestTimeout")


def _storage_error(exc: OSError, what: str) -> Exception:
    """Transient network faults become ``TransientStorageError`` (retried); the rest stay as they are."""
    text = str(exc)
    if any(marker in text for marker in _TRANSIENT):
        return TransientStorageError(f"object store unreachable while {what}: {text[:300]}")
    return exc


class S3ColdStore(ColdStore):
    """Parquet objects addressed by paths relative to ``s3://bucket/prefix``."""

    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ConfigError(f"cold URL {url!r} is not s3://bucket/prefix")
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.endpoint_url = endpoint_url
        self.region = region
        self._access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        self._session_token = session_token
        endpoint = urlsplit(endpoint_url) if endpoint_url else None
        self._fs = pafs.S3FileSystem(
            access_key=access_key_id,
            secret_key=secret_access_key,
            session_token=session_token,
            region=region,
            scheme=endpoint.scheme if endpoint else "https",
            endpoint_override=endpoint.netloc if endpoint else None,
            connect_timeout=10,
            request_timeout=60,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> S3ColdStore:
        if not settings.cold_url:
            raise ConfigError("MARKETOPS_COLD_URL is not set")
        secret = settings.cold_s3_secret_access_key
        token = settings.cold_s3_session_token
        return cls(
            settings.cold_url,
            endpoint_url=settings.cold_s3_endpoint_url,
            region=settings.cold_s3_region,
            access_key_id=settings.cold_s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            session_token=token.get_secret_value() if token else None,
        )

    def __repr__(self) -> str:
        return f"S3ColdStore({self.location!r}, endpoint={self.endpoint_url!r})"

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    @property
    def catalog_root(self) -> Path | None:
        return None  # DuckDB reads s3:// only through its httpfs extension, which cannot be installed offline

    def _key(self, relative: str) -> str:
        parts = [self.bucket, *([self.prefix] if self.prefix else []), *check_relative(relative).parts]
        return "/".join(parts)

    def uri(self, relative: str) -> str:
        return f"s3://{self._key(relative)}"

    def storage_options(self) -> dict[str, str]:
        options = {"aws_region": self.region}
        if self.endpoint_url:
            options["aws_endpoint_url"] = self.endpoint_url
            options["aws_allow_http"] = str(self.endpoint_url.startswith("http://")).lower()
        if self._access_key_id:
            options["aws_access_key_id"] = self._access_key_id
        if self._secret_access_key:
            options["aws_secret_access_key"] = self._secret_access_key
        if self._session_token:
            options["aws_session_token"] = self._session_token
        return options

    def write_bytes(self, relative: str, data: bytes, durable: bool = True) -> None:
        key = self._key(relative)
        try:
            with self._fs.open_output_stream(key) as stream:
                stream.write(data)
        except OSError as exc:
            raise _storage_error(exc, f"writing {relative}") from exc

    def read_bytes(self, relative: str) -> bytes:
        key = self._key(relative)
        try:
            with self._fs.open_input_stream(key) as stream:
                return bytes(stream.readall())
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise _storage_error(exc, f"reading {relative}") from exc

    def exists(self, relative: str) -> bool:
        try:
            return bool(self._fs.get_file_info(self._key(relative)).type == pafs.FileType.File)
        except OSError as exc:
            raise _storage_error(exc, f"looking up {relative}") from exc

    def delete(self, relative: str) -> None:
        try:
            self._fs.delete_file(self._key(relative))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _storage_error(exc, f"deleting {relative}") from exc

    def list(self, pattern: str = "**/*.parquet") -> builtins.list[str]:
        base = "/".join([self.bucket, *([self.prefix] if self.prefix else [])])
        try:
            infos = self._fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
        except OSError as exc:
            raise _storage_error(exc, "listing the cold store") from exc
        relative = (info.path[len(base) + 1 :] for info in infos if info.type == pafs.FileType.File)
        return sorted(r for r in relative if glob_match(pattern, r))

    def sweep_temporaries(self) -> builtins.list[str]:
        # No temporaries exist: an interrupted upload never becomes an object. Incomplete multipart
        # uploads are invisible and are reclaimed by the bucket's AbortIncompleteMultipartUpload rule.
        return []

    def sync(self) -> None:
        """A completed PUT is durable already."""
