"""The trades branch of a load batch: sniff, stream, judge and write trade/quote files.

Called from ``tasks.ingest.load_batch`` inside its warehouse session: trade files never go through
the bar readers; each is streamed in batches (memory flat in the file's size), judged, folded into
minute partials, and the minutes it touched are re-derived into ``bars_1m``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime

import polars as pl
import pyarrow as pa

from core.errors import ConfigError, UnreadableFileError
from core.fingerprint import source_id
from core.formats.naming import identify
from core.formats.registry import family_of
from core.identifiers import check_symbol, check_venue
from core.parse import FileRef, ReadOptions
from core.trades import lean
from core.trades.aggregate import empty_partials
from core.trades.readers import BY_NAME, FAMILY, detect
from core.trades.spec import TradeFormat, TradeHead
from storage.trade_files import read_head, sha256_file, stream_batches
from storage.warm.base import Warehouse
from storage.warm.trade_ledger import write_trade_batch
from validation.batch import MANIFEST_SCHEMA, STATUS_LOADED, STATUS_PARTIAL, STATUS_QUARANTINED
from validation.contracts import Bars, enforce
from validation.trade_batch import (
    FileIdentity,
    TradeFileVerdict,
    anomaly_rows,
    empty_quarantine,
    judge_trade_stream,
    quarantine_rows,
    reasons_json,
)


def trade_format_of(path: str, options: ReadOptions) -> tuple[TradeFormat | None, TradeHead | None, str | None]:
    """(format, head, reason): the trade reader for ``path``; (None, None, None) when it is a bar file.

    ``--format trades`` (or a trade format's name) sends every file here; a file no trade reader
    accepts then comes back with a reason instead of falling through to the bar readers.
    """
    wanted = options.format
    if family_of(wanted) == "bars":
        return None, None, None
    forced = family_of(wanted) == FAMILY
    try:
        head = read_head(path)
    except UnreadableFileError as exc:
        return (None, None, str(exc)) if forced else (None, None, None)
    fmt = BY_NAME[wanted] if wanted in BY_NAME else detect(head)
    if fmt is None and forced:
        shown = head.first_line[:120] or ", ".join(head.parquet_columns)
        return None, head, f"no trade/quote reader accepts this file: first line {shown!r}"
    return fmt, head, None


def _identity(ref: FileRef, fmt: TradeFormat, head: TradeHead, options: ReadOptions, sid: int) -> FileIdentity:
    named = identify(ref.path)
    content_venue, content_symbol = fmt.identity(head)
    venue = check_venue(options.venue or named.venue or content_venue or fmt.default_venue or "generic")
    symbol_hint = options.symbol or content_symbol or _trade_file_symbol(head.name) or named.symbol or "UNKNOWN"
    return FileIdentity(
        ref.path,
        sid,
        venue,
        check_symbol(symbol_hint),
        force_venue=bool(options.venue),
        force_symbol=bool(options.symbol),
    )


def _trade_file_symbol(name: str) -> str | None:
    """``BTCUSDT-trades-2024-01-01.csv``, ``BTC_USDT-trades.json.gz`` -> the part before ``-trades``/``-aggTrades``."""
    stem = name.split("-trades")[0].split("-aggTrades")[0] if ("-trades" in name or "-aggTrades" in name) else ""
    return stem or None


def judge_trade_file(
    ref: FileRef, fmt: TradeFormat, head: TradeHead, options: ReadOptions, sha: str, threshold: float
) -> tuple[FileIdentity | None, TradeFileVerdict]:
    """Stream one trade file through the gate and the aggregation; unreadable -> a verdict with a reason."""
    sid = source_id(ref.path, sha)
    try:
        identity = _identity(ref, fmt, head, options, sid)
        layout = fmt.layout(head)
        try:
            return identity, judge_trade_stream(stream_batches(ref.path, layout), fmt, head, identity, threshold)
        except (pa.ArrowInvalid, pl.exceptions.PolarsError, ValueError):
            bad_rows: list[tuple[int, str]] = []  # a value the typed path cannot convert: read all as text
            batches = stream_batches(ref.path, layout, lenient=True, bad_rows=bad_rows)
            return identity, judge_trade_stream(batches, fmt, head, identity, threshold, bad_rows)
    except (UnreadableFileError, ConfigError) as exc:
        return None, TradeFileVerdict(reason=str(exc))
    except Exception as exc:  # a reader bug must not sink the batch
        first = str(exc).splitlines()[0] if str(exc) else ""
        return None, TradeFileVerdict(reason=f"reader failed: {type(exc).__name__}: {first}")


def _manifest_row(
    head: TradeHead | None,
    ref: FileRef,
    sha: str,
    sid: int,
    fmt_name: str,
    identity: FileIdentity | None,
    v: TradeFileVerdict,
    run_id: str,
    now: datetime,
) -> dict[str, object]:
    if v.reason:
        status = STATUS_QUARANTINED
    else:
        status = STATUS_PARTIAL if v.rows_rejected else STATUS_LOADED
    span = v.partials.select(pl.col("ts").min().alias("a"), pl.col("ts").max().alias("b")).row(0)
    # the file's bars' own venue/symbol (the content may name them, quote sides are suffixed): the busiest key
    busiest = (
        v.partials.group_by("venue", "symbol")
        .agg(pl.col("trades").sum())
        .sort(["trades", "venue", "symbol"], descending=[True, False, False])
    )
    venue, symbol = (busiest.item(0, "venue"), busiest.item(0, "symbol")) if busiest.height else (None, None)
    zone_rule = "explicit:UTC"  # trade times are epochs (UTC) or carry their offset
    if head is not None and fmt_name.startswith("lean-"):
        try:
            zone_rule = f"format:{lean.zone_of(head)}"
        except UnreadableFileError:
            zone_rule = ""  # refused: outside the LEAN layout
    return {
        "path": ref.path,
        "size": ref.size,
        "mtime_ns": ref.mtime_ns,
        "sha256": sha,
        "source_id": sid,
        "format": fmt_name,
        "venue": venue or (identity.venue if identity else ""),
        "symbol": symbol or (identity.symbol if identity else ""),
        "first_ts": span[0],
        "last_ts": span[1],
        "rows_read": v.rows_read,
        "rows_loaded": v.rows_loaded,
        "rows_quarantined": v.rows_rejected,
        "rows_duplicate": v.rows_duplicate,
        "status": status,
        "reasons": reasons_json(v),
        "run_id": run_id,
        "ingested_at": now,
        "zone_rule": zone_rule,
        "price_side": "+".join(sorted(v.partials.get_column("price_side").unique().to_list())),
        "reader_notes": "",
    }


def split_trade_files(refs: tuple[FileRef, ...] | list[FileRef], options: ReadOptions) -> tuple[list, list[FileRef]]:
    """(trade files with their reader, bar files): a file goes the trades way when a trade reader claims it
    (or ``--format`` names the trades family)."""
    trades, bars = [], []
    for ref in refs:
        fmt, head, reason = trade_format_of(ref.path, options)
        if fmt is not None or reason is not None:
            trades.append((ref, fmt, head, reason))
        else:
            bars.append(ref)
    return trades, bars


def load_trade_files(
    warehouse: Warehouse,
    files: list[tuple[FileRef, TradeFormat | None, TradeHead | None, str | None]],
    options: ReadOptions,
    run_id: str,
    threshold: float,
    version: int,
    now: datetime,
    settled: set[tuple[str, str]],
    replay_of: str | None = None,
) -> pl.DataFrame:
    """Judge and write a batch's trade files; returns their manifest rows (``MANIFEST_SCHEMA``).

    ``replay_of``: a quarantine replay's run id (files judged again, earlier quarantine rows replaced)."""
    rows, partials, quarantine, anomalies, members = [], [], [], [], []
    for ref, fmt, head, reason in files:
        try:
            sha = sha256_file(ref.path)
        except OSError:
            continue  # vanished since listing: the next run sees it again (or not)
        if (ref.path, sha) in settled:
            continue
        sid = source_id(ref.path, sha)
        identity: FileIdentity | None = None
        if fmt is None or head is None:
            verdict = TradeFileVerdict(reason=reason or "no trade/quote reader accepts this file")
        else:
            identity, verdict = judge_trade_file(ref, fmt, head, options, sha, threshold)
        members.append((ref.path, sha))
        rows.append(_manifest_row(head, ref, sha, sid, fmt.name if fmt else FAMILY, identity, verdict, run_id, now))
        partials.append(verdict.partials)
        quarantine.append(quarantine_rows(verdict, sid, run_id, now))
        anomalies.append(anomaly_rows(verdict, sid, run_id, now))
    if not rows:
        return pl.DataFrame(schema=MANIFEST_SCHEMA)
    manifest = pl.DataFrame(rows, schema=MANIFEST_SCHEMA)
    write_trade_batch(
        warehouse,
        members,
        pl.concat(partials, how="vertical") if partials else empty_partials(),
        pl.concat(quarantine, how="vertical") if quarantine else empty_quarantine(),
        pl.concat(anomalies, how="vertical_relaxed"),
        manifest.with_columns(pl.lit(_options_json(options)).alias("read_options")),
        version,
        check_bars=lambda bars: enforce(Bars, bars).select(bars.columns),
        replay_of=replay_of,
    )
    return manifest


def _options_json(options: ReadOptions) -> str:
    return json.dumps(asdict(options), sort_keys=True)
