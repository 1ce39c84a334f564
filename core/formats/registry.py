"""Format detection and dispatch: the one entry point the ingest path calls.

Every reader (built in, or a plug-in registered under the entry-point group ``marketops.readers``)
sniffs the decompressed head of each member; the highest confidence wins. A tie between readers,
or no confidence of at least :data:`MIN_CONFIDENCE`, refuses the file with a reason naming what was
not understood — never a guess. After reading, the bar interval is inferred from the rows and a file
that is not one-minute bars is refused as ``not_1m_bars (interval 1h)``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from importlib.metadata import entry_points

import numpy as np
import polars as pl

from core.errors import ConfigError, UnreadableFileError
from core.formats.binance import BinanceReader
from core.formats.frame import SourceFile, decode
from core.formats.generic import DATE_ONLY, FULL_TIME, PRICE_ALIASES, TIME_ONLY, GenericReader
from core.formats.headerless import HeaderlessReader
from core.formats.histdata import HistDataReader
from core.formats.kraken import KrakenReader
from core.formats.lean import LeanReader
from core.formats.metatrader import MT4Reader, MT5Reader
from core.formats.protocol import Reader, ReaderOptions, ReadResult
from core.formats.quotes import DukascopyReader, FxcmReader
from core.formats.tabular import normalize_name, sniff_layout
from core.trades import readers as trade_readers

ENTRY_POINT_GROUP = "marketops.readers"
MIN_CONFIDENCE = 0.5
BUILTIN_READERS: tuple[Reader, ...] = (
    BinanceReader(),
    HistDataReader(),
    MT4Reader(),
    MT5Reader(),
    KrakenReader(),
    LeanReader(),
    DukascopyReader(),
    FxcmReader(),
    GenericReader(),
    HeaderlessReader(),
)
FORMATS = tuple(r.name for r in BUILTIN_READERS)
# Trade/quote ticks are a second family with their own streaming path (core/trades, tasks/trades.py):
# ``--format trades`` or one of its format names sends a file there; detection tries them first.
TRADES_FAMILY = trade_readers.FAMILY
TRADE_FORMATS = tuple(trade_readers.BY_NAME)


def family_of(fmt: str | None) -> str | None:
    """``"trades"`` for the trades family or one of its formats, ``"bars"`` for a bar format, None to detect."""
    if fmt is None:
        return None
    return TRADES_FAMILY if fmt == TRADES_FAMILY or fmt in TRADE_FORMATS else "bars"


_HEAD_BYTES = 8192
_log = logging.getLogger(__name__)


def plugin_readers() -> list[Reader]:
    """Readers other packages registered under ``marketops.readers`` (an object or a factory of one).

    A plug-in that fails to load, is not a reader or reuses a built-in name is skipped with a warning:
    one team's broken package must not stop everyone's ingest.
    """
    found: list[Reader] = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            target = entry.load()
            reader = target() if isinstance(target, type) or not isinstance(target, Reader) else target
        except Exception as exc:
            _log.warning("reader plug-in %s failed to load: %s: %s", entry.name, type(exc).__name__, exc)
            continue
        if not isinstance(reader, Reader):
            _log.warning("reader plug-in %s is not a reader (needs name, description, sniff, read)", entry.name)
        elif reader.name in FORMATS:
            _log.warning("reader plug-in %s reuses the built-in name %r; skipped", entry.name, reader.name)
        else:
            found.append(reader)
    return found


def available_readers() -> list[Reader]:
    return [*BUILTIN_READERS, *plugin_readers()]


def reader_names(readers: Sequence[Reader] | None = None) -> list[str]:
    return [r.name for r in (readers if readers is not None else available_readers())]


def _safe_sniff(reader: Reader, head: str, name: str) -> float:
    try:
        return max(0.0, min(1.0, float(reader.sniff(head, name))))
    except Exception:  # a sniffer bug is "not mine", never a crash
        return 0.0


def _unknown_reason(head: str, names: Sequence[str]) -> str:
    first = next((line for line in head.splitlines() if line.strip()), "")
    return "file is empty" if not first else f"no reader accepts this file: {_what_is_not_understood(head, names)}"


def _what_is_not_understood(head: str, names: Sequence[str]) -> str:
    first = next((line for line in head.splitlines() if line.strip()), "")
    if "\ufffd" in head[:512] or "\x00" in head[:512]:
        return "binary content that no reader understands (not text, Parquet or a known archive)"
    shown = first[:120].replace("\r", "")
    layout = sniff_layout(head)
    if layout is not None and layout.has_header:
        columns = {normalize_name(f) for f in layout.first_fields}
        listed = list(layout.first_fields)
        if "price" in columns and columns & {"amount", "size", "qty", "quantity", "volume"} and "open" not in columns:
            return f"trade ticks, not bars (columns {listed}): the bar readers do not aggregate trades"
        if columns & {"bid", "ask"} and not columns & {"open", "bidopen", "openbid"}:
            return f"quote ticks, not bars (columns {listed}): the bar readers do not aggregate quotes"
        has_time = bool(columns & {*FULL_TIME, *DATE_ONLY, *TIME_ONLY})
        missing = [p for p, aliases in PRICE_ALIASES.items() if not columns & set(aliases)]
        if not has_time:
            return f"header {shown!r} names no time column; set a column mapping"
        return f"header {shown!r} names no {'/'.join(missing)} column; set a column mapping"
    return f"first line {shown!r} is no layout a bar reader knows (readers: {', '.join(names)})"


def choose_reader(source: SourceFile, fmt: str | None = None, readers: Sequence[Reader] | None = None) -> Reader:
    """The reader for one plain member: the named one, or the single most confident sniffer."""
    readers = list(readers) if readers is not None else available_readers()
    if fmt is not None:
        for reader in readers:
            if reader.name == fmt:
                return reader
        raise ConfigError(f"unknown format {fmt!r}; known: {', '.join(r.name for r in readers)}")
    head = decode(source.data[:_HEAD_BYTES], strict=False)
    scored = sorted(
        ((_safe_sniff(r, head, source.name), i, r) for i, r in enumerate(readers)), key=lambda t: (-t[0], t[1])
    )
    best_score, _, best = scored[0]
    if best_score < MIN_CONFIDENCE:
        raise UnreadableFileError(_unknown_reason(head, [r.name for r in readers]))
    rivals = [r.name for s, _, r in scored[1:] if s == best_score]
    if rivals:
        raise UnreadableFileError(f"ambiguous format: readers {best.name} and {', '.join(rivals)} claim it equally")
    return best


def interval_label(millis: int) -> str:
    for unit, size in (("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if millis % size == 0:
            return f"{millis // size}{unit}"
    return f"{millis}ms"


def check_one_minute(frame: pl.DataFrame) -> None:
    """Refuse bars that are not one minute apart, naming the interval they are.

    The interval is the greatest common divisor of the steps between minute-aligned bar times, so gaps
    (a sparse 1m file has steps of 2, 3, 17 minutes) never make minutes look hourly, and one misaligned row
    is left to the row checks. A file whose times are mostly not on minute boundaries (1s or tick-like
    bars) is refused with its most common step.
    """
    ms = pl.col("ts").drop_nulls().unique().sort().dt.epoch("ms")
    stats = (
        frame.lazy()
        .select(ms.alias("t"))
        .select(
            (pl.col("t") % 60_000 == 0).mean().alias("aligned"),
            pl.col("t").filter(pl.col("t") % 60_000 == 0).diff().drop_nulls().alias("steps").implode(),
            pl.col("t").diff().drop_nulls().mode().min().alias("mode"),
        )
        .collect()
    )
    if stats.height == 0 or stats["aligned"][0] is None:
        return
    if stats["aligned"][0] < 0.5:
        mode = stats["mode"][0]
        if mode is not None:
            raise UnreadableFileError(f"not_1m_bars (interval {interval_label(int(mode))})")
        return
    steps = stats["steps"][0].to_numpy()
    steps = steps[steps > 0]
    if steps.size == 0:
        return
    interval = int(np.gcd.reduce(steps.astype(np.int64)))
    if interval != 60_000:
        raise UnreadableFileError(f"not_1m_bars (interval {interval_label(interval)})")


def one_minute_reasons(frames: Sequence[pl.DataFrame]) -> list[str | None]:
    """:func:`check_one_minute` of many files: the reason each is refused, or None.

    The common case is decided for every file in one pass over the stacked times: strictly rising,
    all on minute boundaries and at least one step of exactly a minute means the interval is one minute
    (every step is then a multiple of 60 s and one of them is 60 s). Any other file gets the exact check."""
    heights = [f.height for f in frames]
    files = pl.Series("_file", np.repeat(np.arange(len(frames), dtype=np.int64), heights))
    stacked = pl.concat([f.select("ts") for f in frames], how="vertical").with_columns(files)
    t = pl.col("ts").dt.epoch("ms")
    same = pl.col("_file") == pl.col("_file").shift()
    step = t - t.shift()
    fine = (
        stacked.filter(pl.col("ts").is_not_null())
        .with_columns(same.fill_null(False).alias("_same"), step.alias("_step"))
        .group_by("_file")
        .agg(
            (
                pl.when(pl.col("_same")).then(pl.col("_step") > 0).otherwise(True).all()
                & (pl.col("ts").dt.epoch("ms") % 60_000 == 0).all()
                & (pl.col("_same") & (pl.col("_step") == 60_000)).any()
            ).alias("ok")
        )
    )
    suspect = set(fine.filter(~pl.col("ok")).get_column("_file").to_list())
    reasons: list[str | None] = []
    for i, frame in enumerate(frames):
        reason = None
        if i in suspect:
            try:
                check_one_minute(frame)
            except UnreadableFileError as exc:
                reason = exc.reason
        reasons.append(reason)
    return reasons


def _combine(results: list[ReadResult], names: list[str]) -> ReadResult:
    if len(results) == 1:
        return results[0]
    formats = sorted({r.format for r in results})
    symbols = sorted({r.symbol for r in results if r.symbol})
    if len(formats) > 1 or len(symbols) > 1:
        raise UnreadableFileError(
            f"archive members disagree ({', '.join(formats)}; symbols {', '.join(symbols) or '-'}): split the archive"
        )
    sides = sorted({r.side for r in results})
    zones = sorted({r.zone_rule for r in results})
    notes = (*dict.fromkeys(n for r in results for n in r.notes), f"{len(names)} archive members")
    first = results[0]
    return ReadResult(
        pl.concat([r.frame for r in results], how="vertical"),
        first.format,
        ";".join(zones),
        "+".join(sides) if len(sides) > 1 else sides[0],
        first.venue,
        first.symbol,
        notes,
    )


def read_bars(
    source: SourceFile,
    options: ReaderOptions | None = None,
    fmt: str | None = None,
    readers: Sequence[Reader] | None = None,
) -> ReadResult:
    """Every member of ``source`` through its reader, checked to be one-minute bars, as one result."""
    options = options or ReaderOptions()
    readers = list(readers) if readers is not None else available_readers()
    members = source.members()
    results, names = [], []
    for name, data in members:
        member = SourceFile(name, data, source.path)
        try:
            reader = choose_reader(member, fmt, readers)
            result = reader.read(member, options)
            check_one_minute(result.frame)
        except UnreadableFileError as exc:
            if len(members) == 1:
                raise
            raise UnreadableFileError(f"{name.rsplit('!', 1)[-1]}: {exc.reason}") from exc
        results.append(result)
        names.append(name)
    return _combine(results, names)


def detect_format(source: SourceFile, readers: Sequence[Reader] | None = None) -> str:
    """The name of the reader that takes the (first member of the) file; raises with the reason when none does."""
    name, data = source.members()[0]
    return choose_reader(SourceFile(name, data, source.path), None, readers).name


def read_source(
    source: SourceFile,
    fmt: str | None = None,
    *,
    columns: Mapping[str, str] | None = None,
    timezone: str | None = None,
    date_order: str | None = None,
    venue: str | None = None,
) -> tuple[str, pl.DataFrame]:
    """Parse ``source`` with ``fmt`` (autodetected when None) into the raw frame; returns (format, frame)."""
    options = ReaderOptions(timezone=timezone, date_order=date_order, columns=columns or {}, venue=venue)  # type: ignore[arg-type]
    result = read_bars(source, options, fmt)
    return result.format, result.frame
