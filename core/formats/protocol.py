"""The reader protocol: what every bar reader (built in or a plug-in) offers and returns.

A reader is any object with a ``name``, a one-line ``description``, ``sniff`` and ``read``:

- ``sniff(head, name) -> float``: confidence 0..1 that the file is this reader's format, from the
  first decoded characters of its (decompressed) content; ``name`` is a tie-breaker at most, never
  the evidence. 0 means "not mine". It must be cheap and must not raise.
- ``read(source, options) -> ReadResult``: the rows in the :data:`~core.formats.frame.RAW_SCHEMA`
  frame plus what the reader knows about them. A file the reader cannot understand raises
  :class:`~core.errors.UnreadableFileError` with a reason a person can act on.

Plug-ins register a reader object (or a zero-argument factory returning one) under the entry-point
group ``marketops.readers``; see :mod:`core.formats.registry`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import polars as pl

from core.formats.frame import SourceFile

DateOrder = Literal["dmy", "mdy"]
DATE_ORDERS: tuple[str, ...] = ("dmy", "mdy")
PriceSide = Literal["trade", "bid", "ask", "mid", "bid+ask"]

# Zone rules, recorded per file (``ingest_files.zone_rule``): how naive local times became UTC.
ZONE_EXPLICIT = "explicit"  # the file states offsets (Z, +hh:mm) or epoch numbers: nothing assumed
ZONE_FORMAT = "format"  # the format's documented zone (HistData EST, LEAN data zone, Binance UTC)
ZONE_OPTION = "option"  # --timezone / MARKETOPS_GENERIC_TIMEZONE
ZONE_VENUE = "venue"  # default: the venue's session zone (equity venues: America/New_York)
ZONE_DEFAULT_UTC = "default_utc"  # default: nothing told the zone, UTC assumed (warned)
DEFAULT_ZONE_RULES = (ZONE_VENUE, ZONE_DEFAULT_UTC)


@dataclass(frozen=True)
class ReaderOptions:
    """What the operator told about the files (CLI options); ``None`` means "not told"."""

    timezone: str | None = None
    date_order: DateOrder | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    venue: str | None = None  # venue hint (option or path): picks the session zone of naive times


@dataclass(frozen=True)
class ZoneChoice:
    """The zone naive times are read in, and which rule chose it."""

    zone: str
    rule: str

    @property
    def label(self) -> str:
        """``rule:zone`` as stored in ``ingest_files.zone_rule``."""
        return f"{self.rule}:{self.zone}"


@dataclass(frozen=True)
class ReadResult:
    """One file's rows and what its reader knows about them."""

    frame: pl.DataFrame  # RAW_SCHEMA
    format: str
    zone_rule: str  # ZoneChoice.label, e.g. "explicit:UTC", "format:EST(UTC-5)", "default_utc:UTC"
    side: str = "trade"  # trade | bid | ask | mid | bid+ask (rows then carry their own side)
    venue: str | None = None  # the venue the content proves (Binance klines are binance whatever the name)
    symbol: str | None = None  # when the content or the format's naming convention tells it
    notes: tuple[str, ...] = ()

    @property
    def zone_defaulted(self) -> bool:
        """True when no statement chose the zone (a warning line in the run summary)."""
        return self.zone_rule.split(":", 1)[0] in DEFAULT_ZONE_RULES


@runtime_checkable
class Reader(Protocol):
    name: str
    description: str

    def sniff(self, head: str, name: str) -> float: ...

    def read(self, source: SourceFile, options: ReaderOptions) -> ReadResult: ...
