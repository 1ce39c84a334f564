"""One source file's bytes -> candidate bars with identity, or the reason no reader took it."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from core.errors import ConfigError, UnreadableFileError
from core.fingerprint import source_id
from core.formats import SourceFile, binance, read_source
from core.formats.naming import identify
from core.formats.registry import detect_format
from core.identifiers import check_symbol, check_venue


@dataclass(frozen=True)
class ReadOptions:
    """Explicit overrides of what detection and file names say (CLI ``--format/--venue/--symbol``)."""

    format: str | None = None
    venue: str | None = None
    symbol: str | None = None
    timezone: str = "UTC"
    columns: dict[str, str] = field(default_factory=dict)
    date_order: str | None = None  # "dmy" | "mdy" | "ymd" when a file's dates cannot tell (None: decide from evidence)


DATE_ORDERS = ("dmy", "mdy", "ymd")


def checked_options(
    format: str | None,
    venue: str | None,
    symbol: str | None,
    timezone: str,
    date_order: str | None = None,
    columns: dict[str, str] | None = None,
) -> ReadOptions:
    """Read options checked before any file is touched; a bad one raises :class:`ConfigError` naming
    the allowed values (the CLI exits 2 with it)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from core.formats.registry import FORMATS

    if format is not None and format not in FORMATS:
        raise ConfigError(f"unknown --format {format!r}; allowed: {', '.join(FORMATS)}")
    try:
        ZoneInfo(timezone)  # raises for unknown names, empty or path-like ones
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ConfigError(
            f"unknown --timezone {timezone!r}; allowed: an IANA zone name such as UTC, America/New_York, "
            "Europe/London, Asia/Tokyo (see `python -c 'import zoneinfo; print(zoneinfo.available_timezones())'`)"
        ) from exc
    if date_order is not None and date_order not in DATE_ORDERS:
        raise ConfigError(f"unknown --date-order {date_order!r}; allowed: {', '.join(DATE_ORDERS)}")
    try:
        venue = check_venue(venue) if venue is not None else None
    except ConfigError as exc:
        raise ConfigError(f"invalid --venue {venue!r}; allowed: lower-case letters, digits, _ (1-32)") from exc
    try:
        symbol = check_symbol(symbol.upper()) if symbol is not None else None
    except ConfigError as exc:
        raise ConfigError(f"invalid --symbol {symbol!r}; allowed: letters, digits, . _ - (1-32)") from exc
    return ReadOptions(
        format=format, venue=venue, symbol=symbol, timezone=timezone, columns=dict(columns or {}), date_order=date_order
    )


@dataclass(frozen=True)
class FileRef:
    """A landing file as discovered: enough to find it again and to tell whether it changed."""

    path: str
    size: int
    mtime_ns: int


@dataclass
class ParsedFile:
    ref: FileRef
    sha256: str
    source_id: int
    format: str = ""
    venue: str = ""
    symbol: str = ""
    raw: pl.DataFrame | None = None  # reader output; None when unreadable
    reason: str | None = None  # why the whole file is quarantined


# The venue a recognised vendor format implies, when neither --venue nor the path names one
# (a Binance klines file stays ``binance`` whatever it is called).
FORMAT_VENUES = {binance.NAME: "binance", "histdata": "histdata"}


def _identify(ref: FileRef, options: ReadOptions, parsed: ParsedFile) -> None:
    """Venue and symbol from options, then the path, then the reader's format; raises with a reason when
    nothing tells the symbol."""
    named = identify(ref.path)
    venue = check_venue(options.venue or named.venue or FORMAT_VENUES.get(parsed.format) or "generic")
    symbol_hint = options.symbol or named.symbol
    if not symbol_hint:
        raise UnreadableFileError("cannot tell the symbol from the file name; pass --symbol")
    parsed.venue, parsed.symbol = venue, check_symbol(symbol_hint)


def parse_file(ref: FileRef, source: SourceFile, sha256: str, options: ReadOptions) -> ParsedFile:
    """Parse one file into the raw frame; an unreadable file comes back with ``reason`` set, never raises."""
    parsed = ParsedFile(ref=ref, sha256=sha256, source_id=source_id(ref.path, sha256))
    try:
        parsed.format, parsed.raw = read_source(
            source, options.format, columns=options.columns, timezone=options.timezone
        )
        _identify(ref, options, parsed)
    except (UnreadableFileError, ConfigError) as exc:
        parsed.reason = str(exc)
        return parsed
    except Exception as exc:  # a reader bug must not sink the batch: quarantine the file and say why
        parsed.reason = f"reader failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return parsed
    if parsed.raw.height == 0:
        parsed.reason = "file has no data rows"
    return parsed


def parse_files(items: list[tuple[FileRef, SourceFile, str]], options: ReadOptions) -> list[ParsedFile]:
    """Parse a batch: clean klines files in one combined read, everything else file by file.

    The result is the same as :func:`parse_file` on each item; only the speed differs (one parser
    call for hundreds of small files instead of one each).
    """
    results: dict[int, ParsedFile] = {}
    klines: list[int] = []
    for index, (ref, source, sha) in enumerate(items):
        if options.format not in (None, binance.NAME):
            continue
        try:
            if detect_format(source) == binance.NAME:
                parsed = ParsedFile(ref=ref, sha256=sha, source_id=source_id(ref.path, sha), format=binance.NAME)
                _identify(ref, options, parsed)
                results[index] = parsed
                klines.append(index)
        except Exception:
            results.pop(index, None)
            continue
    try:
        frames = binance.read_many([items[i][1] for i in klines]) if len(klines) > 1 else None
    except Exception:
        frames = None
    if frames is None:
        for i in klines:
            del results[i]
    else:
        for i, frame in zip(klines, frames, strict=True):
            results[i].raw = frame
            if frame.height == 0:
                results[i].reason = "file has no data rows"
    return [results[i] if i in results else parse_file(*item, options) for i, item in enumerate(items)]
