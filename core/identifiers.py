"""Patterns for identifiers that reach SQL or paths; values are bound, identifiers are checked."""

from __future__ import annotations

import re

from core.errors import ConfigError

SYMBOL_PATTERN = r"^[A-Z0-9._-]{1,32}$"
VENUE_PATTERN = r"^[a-z0-9_]{1,32}$"
SQL_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
TOKEN_PATTERN = r"^[0-9a-f]{16,128}$"
PARTITION_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"

_SYMBOL = re.compile(SYMBOL_PATTERN)
_VENUE = re.compile(VENUE_PATTERN)
_SQL_NAME = re.compile(SQL_NAME_PATTERN)
_TOKEN = re.compile(TOKEN_PATTERN)
_PARTITION = re.compile(PARTITION_PATTERN)


def check_symbol(symbol: str) -> str:
    """Return ``symbol`` upper-cased, or raise if it could not be a symbol."""
    candidate = symbol.strip().upper()
    if not _SYMBOL.match(candidate):
        raise ConfigError(f"invalid symbol {symbol!r}: must match {SYMBOL_PATTERN}")
    return candidate


def check_venue(venue: str) -> str:
    """Return ``venue`` lower-cased, or raise if it could not be a venue."""
    candidate = venue.strip().lower()
    if not _VENUE.match(candidate):
        raise ConfigError(f"invalid venue {venue!r}: must match {VENUE_PATTERN}")
    return candidate


def check_sql_name(name: str) -> str:
    """A table, database or column name that will be spliced into SQL text."""
    if not _SQL_NAME.match(name):
        raise ConfigError(f"invalid SQL identifier {name!r}")
    return name


def check_token(token: str) -> str:
    """A dedup token that will be spliced into a SETTINGS clause (hex only)."""
    if not _TOKEN.match(token):
        raise ConfigError(f"invalid dedup token {token!r}")
    return token


def check_partition_id(partition: str) -> str:
    """A partition id such as ``202406`` that will be spliced into a PARTITIONS clause."""
    if not _PARTITION.match(partition):
        raise ConfigError(f"invalid partition id {partition!r}")
    return partition
