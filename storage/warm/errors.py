"""Map clickhouse-connect's failures (embedded chDB or server) onto the marketops error vocabulary.

clickhouse-connect raises ``DatabaseError`` (with the server's ``code``) for a refused statement on
either interface, ``OperationalError`` when a server cannot be reached; tasks retry only what lands
in :class:`TransientStorageError`.
"""

from __future__ import annotations

import re

from core.errors import PermanentStorageError, StorageError, TransientStorageError

# Server error codes a retry can fix: the server was busy or briefly unreachable.
TRANSIENT_CODES = {
    159,  # TIMEOUT_EXCEEDED
    160,  # TOO_SLOW
    202,  # TOO_MANY_SIMULTANEOUS_QUERIES
    209,  # SOCKET_TIMEOUT
    210,  # NETWORK_ERROR
    241,  # MEMORY_LIMIT_EXCEEDED
    242,  # TABLE_IS_READ_ONLY (a replica lost its Keeper session; it comes back)
    252,  # TOO_MANY_PARTS
    319,  # UNKNOWN_STATUS_OF_INSERT
    425,  # SYSTEM_ERROR
    999,  # KEEPER_EXCEPTION
}
# Not 164 (READONLY): that is a statement refused under ``readonly = 1`` (``marketops sql``), which no
# retry can fix.
_CODE = re.compile(r"Code:\s*(\d+)")


def error_code(message: str) -> int | None:
    match = _CODE.search(message)
    return int(match.group(1)) if match else None


def _is_connection_fault(exc: BaseException) -> bool:
    # clickhouse-connect wraps refused/reset connections in OperationalError; httpx/urllib3 in their own types
    return isinstance(exc, (ConnectionError, TimeoutError)) or type(exc).__name__ in {
        "OperationalError",
        "ConnectError",
        "ReadTimeout",
    }


def translate(exc: BaseException, what: str, connecting: bool = False) -> StorageError:
    """A marketops error for ``exc``; the SQL text is not echoed (it may carry bound values)."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    code = getattr(exc, "code", None)
    code = code if isinstance(code, int) else error_code(str(exc))
    if code in TRANSIENT_CODES or _is_connection_fault(exc) or (connecting and code is None):
        return TransientStorageError(f"{what}: {message}")
    return PermanentStorageError(f"{what}: {message}")
