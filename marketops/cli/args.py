"""Argument checks a command runs before it opens a store or starts a flow.

A wrong argument is the caller's mistake, not a failed run: it exits 2 at once with a message that names what is
allowed, instead of starting a Prefect run that fails seconds later and fires an alert nobody needs.
"""

from __future__ import annotations

import difflib
import re
from datetime import date
from typing import Any

from core.errors import ConfigError
from core.identifiers import check_partition_id, check_sql_name
from marketops.cli.app import _date, _fail

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")


def day_range(since: str | None, until: str | None) -> tuple[date | None, date | None]:
    """``--since``/``--until`` as days, both inclusive; ``--until`` before ``--since`` exits 2."""
    first, last = _date(since, "--since"), _date(until, "--until")
    if first is not None and last is not None and last < first:
        raise _fail(f"--until {last} is before --since {first}; give the first day, then the last (inclusive)", 2)
    return first, last


def clock(value: str | None, flag: str) -> str | None:
    """An ``HH:MM`` time of day (UTC), 00:00..23:59."""
    if value is not None and not _CLOCK.match(value):
        raise _fail(f"{flag} {value!r} is not a time of day; use HH:MM (UTC), e.g. 05:00", 2)
    return value


def one_of(value: str, allowed: tuple[str, ...], flag: str) -> str:
    """A value from a fixed list."""
    if value not in allowed:
        raise _fail(f"unknown {flag} {value!r}; use {', '.join(allowed[:-1])} or {allowed[-1]}", 2)
    return value


def database_name(value: str | None, flag: str) -> str | None:
    """A database name that will be spliced into SQL (letters, digits, underscores; case kept)."""
    if value is None:
        return None
    try:
        return check_sql_name(value)
    except ConfigError as exc:
        raise _fail(
            f"{flag} {value!r} is not a database name: letters, digits and _, not starting with a digit, at most 64", 2
        ) from exc


def partition_ids(values: list[str] | None) -> list[str] | None:
    """Partition ids such as ``202406`` (``toYYYYMM`` of the bar time)."""
    for value in values or []:
        try:
            check_partition_id(value)
        except ConfigError as exc:
            raise _fail(
                f"--partition {value!r} is not a partition id; use an id as system.parts shows it, e.g. 202406", 2
            ) from exc
    return values


def known_backup(row: dict[str, Any] | None, name: str, names: list[str]) -> dict[str, Any]:
    """The catalog row of backup ``name``; a name the catalog does not hold exits 2 with the closest ones."""
    if row is not None:
        return row
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    count = f"{len(names)} snapshot" + ("" if len(names) == 1 else "s")
    listed = count if names else "no snapshots yet: `marketops backup` takes one"
    raise _fail(f"no backup named {name!r}{hint} ({listed}; `marketops backups list` shows them)", 2)


def known_tables(tables: list[str] | None, held: list[str], name: str) -> list[str] | None:
    """``--table`` names the backup holds."""
    unknown = sorted(set(tables or []) - set(held))
    if unknown:
        raise _fail(f"backup {name} holds no table {', '.join(unknown)}; it holds {', '.join(held)}", 2)
    return tables
