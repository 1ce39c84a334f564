"""Compressed and archived inputs, told apart by their magic bytes (never by the file name).

``.gz``, ``.bz2``, ``.xz`` and ``.zst`` wrap one stream; a zip holds one or more members. Every
expansion is bounded (:data:`MAX_EXPANDED_BYTES`), so a decompression bomb is refused with a
reason instead of exhausting memory, and a corrupt stream is an :class:`UnreadableFileError`
naming the codec, never a ``zlib.error`` escaping into the batch.
"""

from __future__ import annotations

import bz2
import functools
import gzip
import io
import lzma
import zipfile
import zlib
from collections.abc import Callable
from typing import Protocol

import zstandard

from core.errors import UnreadableFileError

MAX_EXPANDED_BYTES = 512 * 2**20
MAX_ZIP_MEMBERS = 256

_GZIP = b"\x1f\x8b"
_BZIP2 = b"BZh"
_XZ = b"\xfd7zXZ\x00"
_ZSTD = b"\x28\xb5\x2f\xfd"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
PARQUET_MAGIC = b"PAR1"


class _Stream(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...

    def close(self) -> None: ...


def _bounded(opener: Callable[[], _Stream], codec: str) -> bytes:
    try:
        stream = opener()
        try:
            data = stream.read(MAX_EXPANDED_BYTES + 1)
        finally:
            stream.close()
    except (OSError, EOFError, zlib.error, lzma.LZMAError, zstandard.ZstdError, ValueError) as exc:
        raise UnreadableFileError(f"corrupt {codec} stream: {type(exc).__name__}: {exc}") from exc
    if len(data) > MAX_EXPANDED_BYTES:
        raise UnreadableFileError(f"{codec} stream expands beyond {MAX_EXPANDED_BYTES // 2**20} MiB; refused")
    return data


def codec_of(data: bytes) -> str | None:
    """``gzip``/``bz2``/``xz``/``zstd``/``zip`` from the first bytes, ``None`` for plain data."""
    if data.startswith(_GZIP):
        return "gzip"
    if data.startswith(_BZIP2) and len(data) > 3 and data[3:4].isdigit():
        return "bz2"
    if data.startswith(_XZ):
        return "xz"
    if data.startswith(_ZSTD):
        return "zstd"
    if data.startswith(_ZIP):
        return "zip"
    return None


def _decompress(data: bytes, codec: str) -> bytes:
    buffer = io.BytesIO(data)
    if codec == "gzip":
        return _bounded(lambda: gzip.GzipFile(fileobj=buffer), codec)
    if codec == "bz2":
        return _bounded(lambda: bz2.BZ2File(buffer), codec)
    if codec == "xz":
        return _bounded(lambda: lzma.LZMAFile(buffer), codec)
    return _bounded(lambda: zstandard.ZstdDecompressor().stream_reader(buffer), codec)


def _zip_members(data: bytes) -> list[tuple[str, bytes]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
            if not infos:
                raise UnreadableFileError("zip archive holds no files")
            if len(infos) > MAX_ZIP_MEMBERS:
                raise UnreadableFileError(f"zip archive holds {len(infos)} files; at most {MAX_ZIP_MEMBERS} are read")
            if sum(i.file_size for i in infos) > MAX_EXPANDED_BYTES:
                raise UnreadableFileError(f"zip archive expands beyond {MAX_EXPANDED_BYTES // 2**20} MiB; refused")
            out = []
            for info in infos:
                out.append((info.filename, _bounded(functools.partial(archive.open, info), "zip")))
            return out
    except zipfile.BadZipFile as exc:
        raise UnreadableFileError(f"not a readable zip archive: {exc}") from exc
    except (NotImplementedError, RuntimeError) as exc:  # unsupported method, encrypted member
        raise UnreadableFileError(f"zip member cannot be read: {exc}") from exc


def expand(name: str, data: bytes, depth: int = 0) -> list[tuple[str, bytes]]:
    """The plain members of a file: itself, its decompressed stream, or each (decompressed) zip member.

    Member names are ``name!member`` for zips, so reasons and line numbers point at the right file.
    """
    codec = codec_of(data)
    if codec is None:
        return [(name, data)]
    if depth >= 2:
        raise UnreadableFileError(f"{codec} nested more than twice; refused")
    if codec == "zip":
        return [
            member
            for inner_name, inner in _zip_members(data)
            for member in expand(f"{name}!{inner_name}", inner, depth + 1)
        ]
    return expand(name, _decompress(data, codec), depth + 1)
