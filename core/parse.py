"""One source file's bytes -> candidate bars with identity, or the reason no reader took it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import polars as pl

from core.errors import ConfigError, UnreadableFileError
from core.fingerprint import source_id
from core.formats import SourceFile, binance
from core.formats.naming import identify
from core.formats.protocol import DEFAULT_ZONE_RULES, Reader, ReaderOptions, ReadResult
from core.formats.registry import available_readers, detect_format, one_minute_reasons, read_bars
from core.formats.timeparse import EXPLICIT_UTC
from core.identifiers import check_symbol, check_venue


@dataclass(frozen=True)
class ReadOptions:
    """Explicit overrides of what detection and file names say (CLI ``--format/--venue/--symbol``)."""

    format: str | None = None
    venue: str | None = None
    symbol: str | None = None
    timezone: str | None = None  # None: each reader's zone rule (generic: venue session zone, else UTC, warned)
    columns: dict[str, str] = field(default_factory=dict)
    date_order: str | None = None  # dmy | mdy for a/b/yyyy dates no row decides (else ambiguous_date_order)

    def reader_options(self, path: str) -> ReaderOptions:
        """What readers are told for one file: the venue hint is the option, else the path's ``venue=``."""
        return ReaderOptions(
            timezone=self.timezone,
            date_order=self.date_order,  # type: ignore[arg-type]
            columns=self.columns,
            venue=self.venue or identify(path).venue,
        )


def checked_options(
    format: str | None,
    venue: str | None,
    symbol: str | None,
    timezone: str | None,
    date_order: str | None = None,
    columns: dict[str, str] | None = None,
) -> ReadOptions:
    """Read options checked before any file is touched; a bad one raises :class:`ConfigError` naming
    the allowed values (the CLI exits 2 with it)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from core.formats.protocol import DATE_ORDERS
    from core.formats.registry import FORMATS, TRADE_FORMATS, TRADES_FAMILY

    allowed = (*FORMATS, TRADES_FAMILY, *TRADE_FORMATS)  # bar readers, then the trades family (tasks/trades.py)
    if format is not None and format not in allowed:
        raise ConfigError(f"unknown --format {format!r}; allowed: {', '.join(allowed)}")
    if timezone is not None:
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
    zone_rule: str = ""  # how naive times became UTC (ReadResult.zone_rule); "" when unread
    price_side: str = ""  # trade | bid | ask | mid | bid+ask
    notes: tuple[str, ...] = ()  # what the reader applied (tick volume, deci-cents, ...)

    @property
    def zone_defaulted(self) -> bool:
        return self.zone_rule.split(":", 1)[0] in DEFAULT_ZONE_RULES


def _identify(ref: FileRef, options: ReadOptions, parsed: ParsedFile, result: ReadResult | None = None) -> None:
    """Venue: ``--venue``, a ``venue=NAME`` directory (both the operator's word), then what the reader proved
    (Binance klines are binance whatever the file name), else generic. Symbol: ``--symbol``, the reader, the name."""
    named = identify(ref.path)
    venue = check_venue(options.venue or named.venue or (result.venue if result else None) or "generic")
    symbol_hint = options.symbol or (result.symbol if result else None) or named.symbol
    if not symbol_hint:
        raise UnreadableFileError("cannot tell the symbol from the file name; pass --symbol")
    parsed.venue, parsed.symbol = venue, check_symbol(symbol_hint)


def _apply(parsed: ParsedFile, result: ReadResult) -> None:
    parsed.format, parsed.raw = result.format, result.frame
    parsed.zone_rule, parsed.price_side, parsed.notes = result.zone_rule, result.side, result.notes


def parse_file(
    ref: FileRef, source: SourceFile, sha256: str, options: ReadOptions, readers: list[Reader] | None = None
) -> ParsedFile:
    """Parse one file into the raw frame; an unreadable file comes back with ``reason`` set, never raises."""
    parsed = ParsedFile(ref=ref, sha256=sha256, source_id=source_id(ref.path, sha256))
    try:
        result = read_bars(replace(source, path=ref.path), options.reader_options(ref.path), options.format, readers)
        _identify(ref, options, parsed, result)
        _apply(parsed, result)
    except (UnreadableFileError, ConfigError) as exc:
        parsed.reason = str(exc)
        return parsed
    except Exception as exc:  # a reader bug must not sink the batch: quarantine the file and say why
        parsed.reason = f"reader failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return parsed
    if parsed.raw is not None and parsed.raw.height == 0:
        parsed.reason = "file has no data rows"
    return parsed


def parse_files(items: list[tuple[FileRef, SourceFile, str]], options: ReadOptions) -> list[ParsedFile]:
    """Parse a batch: clean klines files in one combined read, everything else file by file.

    The result is the same as :func:`parse_file` on each item; only the speed differs (one parser
    call for hundreds of small files instead of one each).
    """
    readers = available_readers()  # entry points scanned once per batch, not per file
    results: dict[int, ParsedFile] = {}
    klines: list[int] = []
    for index, (ref, source, sha) in enumerate(items):
        if options.format not in (None, binance.NAME):
            continue
        try:
            if detect_format(source, readers) == binance.NAME:
                parsed = ParsedFile(ref=ref, sha256=sha, source_id=source_id(ref.path, sha), format=binance.NAME)
                parsed.zone_rule, parsed.price_side, parsed.venue = EXPLICIT_UTC.label, "trade", binance.NAME
                _identify(ref, replace(options, venue=options.venue or binance.NAME), parsed)
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
        for i, frame, refused in zip(klines, frames, one_minute_reasons(frames), strict=True):
            results[i].raw = frame
            if refused is not None:
                results[i].reason, results[i].raw = refused, None
            elif frame.height == 0:
                results[i].reason = "file has no data rows"
    return [results[i] if i in results else parse_file(*item, options, readers) for i, item in enumerate(items)]
