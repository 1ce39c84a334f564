"""The known-events allowlist: real market events whose anomalies are explained, not failures.

An exchange halt or a payrolls release still shows up as its anomaly (a person reading the report
should see it), annotated with the event's id and left out of every failure count. The allowlist is
a versioned TOML file (bundled ``known_events.toml`` plus any files named in the settings).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from core.errors import ConfigError
from core.formats.frame import TS_TYPE
from validation.catalogue import CHECKS

BUNDLED = Path(__file__).with_name("known_events.toml")


@dataclass(frozen=True)
class KnownEvent:
    id: str
    venue: str
    symbol: str
    start: datetime
    end: datetime
    checks: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class Allowlist:
    events: tuple[KnownEvent, ...]
    version: str  # "bundled:1+extra.toml:3": which files, at which versions, judged a run

    def matching(self, venue: str, symbol: str) -> list[KnownEvent]:
        return [e for e in self.events if e.venue in ("*", venue) and e.symbol in ("*", symbol)]


def _utc(value: object, where: str) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        return _utc(datetime.fromisoformat(value.replace("Z", "+00:00")), where)
    raise ConfigError(f"{where}: expected a UTC date-time, got {value!r}")


def _parse(path: Path) -> tuple[list[KnownEvent], str]:
    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"known-events file {path}: {exc}") from exc
    events = []
    for i, raw in enumerate(doc.get("event", [])):
        where = f"{path} event #{i + 1}"
        missing = {"id", "venue", "symbol", "start", "end", "checks", "note"} - set(raw)
        if missing:
            raise ConfigError(f"{where}: missing {sorted(missing)}")
        checks = tuple(raw["checks"])
        unknown = [c for c in checks if c != "*" and c not in CHECKS]
        if unknown:
            raise ConfigError(f"{where}: unknown checks {unknown}")
        event = KnownEvent(
            str(raw["id"]),
            str(raw["venue"]),
            str(raw["symbol"]).upper() if raw["symbol"] != "*" else "*",
            _utc(raw["start"], where),
            _utc(raw["end"], where),
            checks,
            str(raw["note"]),
        )
        if event.end <= event.start:
            raise ConfigError(f"{where}: end must be after start")
        events.append(event)
    return events, f"{path.name}:{doc.get('version', '?')}"


def load_allowlist(extra_files: Iterable[Path] = ()) -> Allowlist:
    """Bundled events plus those of ``extra_files``; ids must be unique across all of them."""
    events: list[KnownEvent] = []
    versions = []
    for path in (BUNDLED, *extra_files):
        found, version = _parse(Path(path))
        events += found
        versions.append(version)
    ids = [e.id for e in events]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise ConfigError(f"known-event ids used twice: {duplicated}")
    return Allowlist(tuple(events), "+".join(versions))


def annotate(anomalies: pl.DataFrame, allowlist: Allowlist) -> pl.DataFrame:
    """Set ``known_event`` to the id of the first event whose venue, symbol, checks and time overlap each anomaly."""
    known = pl.lit("", pl.String)
    for event in reversed(allowlist.events):  # reversed so the first listed event wins
        hit = (pl.col("ts") < pl.lit(event.end).cast(TS_TYPE)) & (pl.col("end_ts") >= pl.lit(event.start).cast(TS_TYPE))
        if event.venue != "*":
            hit &= pl.col("venue") == event.venue
        if event.symbol != "*":
            hit &= pl.col("symbol") == event.symbol
        if "*" not in event.checks:
            hit &= pl.col("check").is_in(list(event.checks))
        known = pl.when(hit).then(pl.lit(event.id)).otherwise(known)
    return anomalies.with_columns(known_event=known)
