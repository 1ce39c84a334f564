"""What a file's path says about it: venue, symbol and period, before it is opened.

Used to group files into batches (venue x symbol x month) without parsing them, and as the
default identity of the rows. Explicit options always win over what the name suggests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

_BINANCE = re.compile(r"^(?P<symbol>[A-Za-z0-9]+)-(?P<interval>\d+[smhdwM])-(?P<period>\d{4}-\d{2}(?:-\d{2})?)$")
_HISTDATA = re.compile(r"^DAT_(?:ASCII|NT|MT|XLSX)_(?P<symbol>[A-Za-z0-9]+)_M1_(?P<period>\d{4,6})", re.IGNORECASE)
_HIVE_VENUE = re.compile(r"^venue=(?P<venue>[a-z0-9_]{1,32})$")
_GENERIC_PERIOD = re.compile(r"(?P<period>(?:19|20)\d{2}[-_]?\d{2})")
_FIRST_TOKEN = re.compile(r"^[A-Za-z0-9.]+")


@dataclass(frozen=True)
class PathIdentity:
    venue: str | None
    symbol: str | None
    period: str  # YYYY-MM when the name tells it, "" otherwise


def identify(path: str) -> PathIdentity:
    """Venue from a ``venue=NAME`` directory, symbol and month from known file-name layouts."""
    pure = PurePath(path)
    venue = next((m.group("venue") for part in pure.parts[:-1] if (m := _HIVE_VENUE.match(part))), None)
    stem = pure.name
    for suffix in (".gz", ".bz2", ".xz", ".zst", ".zip", ".csv", ".tsv", ".parquet", ".txt"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    if m := _BINANCE.match(stem):
        return PathIdentity(venue or "binance", m.group("symbol").upper(), m.group("period")[:7])
    if m := _HISTDATA.match(stem):
        raw = m.group("period")
        period = f"{raw[:4]}-{raw[4:6]}" if len(raw) == 6 else raw[:4]
        return PathIdentity(venue or "histdata", m.group("symbol").upper(), period)
    token = _FIRST_TOKEN.match(stem)
    period_match = _GENERIC_PERIOD.search(stem)
    period = ""
    if period_match:
        digits = re.sub(r"[-_]", "", period_match.group("period"))
        period = f"{digits[:4]}-{digits[4:6]}"
    return PathIdentity(venue, token.group(0).upper() if token else None, period)
