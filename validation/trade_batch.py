"""Judge one trade/quote file, batch by batch: what counts in bars, what is quarantined and why.

A pure function of the raw batches a reader streams: memory holds one batch, the file's minute
partials (a few rows per minute) and its rejected rows, whatever the file's size.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from core.formats.frame import TS_TYPE
from core.identifiers import SYMBOL_PATTERN
from core.trades.aggregate import empty_partials, merge_partials, minute_partials
from core.trades.candles import candle_partials, check_candles
from core.trades.frame import TRADE_SCHEMA
from core.trades.spec import TradeFormat, TradeHead
from validation.trade_gate import OUT_OF_ORDER_CHECK, check_trades

SIDE_SUFFIX = {"bid": ".BID", "ask": ".ASK", "mid": ".MID"}
MAX_WARNINGS_PER_FILE = 1000
QUARANTINE_COLUMNS = ["venue", "symbol", "ts", "price", "size", "side", "trade_id", "line", "raw", "checks", "detail"]


@dataclass(frozen=True)
class FileIdentity:
    """Who a file's rows belong to when their content does not say, and which file version it is."""

    path: str
    source_id: int
    venue: str
    symbol: str
    force_venue: bool = False  # --venue: wins over what the content says
    force_symbol: bool = False  # --symbol: likewise


@dataclass
class TradeFileVerdict:
    partials: pl.DataFrame = field(default_factory=empty_partials)
    rejected: list[pl.DataFrame] = field(default_factory=list)
    late: list[pl.DataFrame] = field(default_factory=list)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_duplicate: int = 0
    rows_rejected: int = 0
    late_rows: int = 0
    reason: str | None = None  # the whole file is quarantined

    def by_check(self) -> list[dict[str, object]]:
        if not self.rejected:
            return []
        counts = pl.concat(self.rejected, how="vertical").select(pl.col("checks").explode()).to_series().value_counts()
        return [{"check": c, "rows": int(n)} for c, n in counts.sort(counts.columns[0]).iter_rows()]


def fill_identity(trades: pl.DataFrame, identity: FileIdentity) -> pl.DataFrame:
    """Venue and symbol per row: explicit options, else the content, else the file; quote sides suffixed."""
    venue = pl.lit(identity.venue) if identity.force_venue else pl.col("venue").fill_null(identity.venue)
    symbol = pl.lit(identity.symbol) if identity.force_symbol else pl.col("symbol").fill_null(identity.symbol)
    suffix = pl.col("price_side").replace_strict(SIDE_SUFFIX, default="", return_dtype=pl.String)
    return trades.with_columns(venue.alias("venue"), pl.concat_str(symbol.str.to_uppercase(), suffix).alias("symbol"))


def _as_trade_rows(candles: pl.DataFrame) -> pl.DataFrame:
    """Rejected candles in the quarantine's trade shape (price = close; the detail has all four prices)."""
    return candles.select(
        "line",
        "venue",
        "symbol",
        "ts",
        pl.col("close").alias("price"),
        pl.col("volume").alias("size"),
        pl.lit(None, pl.Int8).alias("side"),
        pl.lit(None, pl.Int64).alias("trade_id"),
        "raw",
        "checks",
        "detail",
    )


def _unparsed_rows(bad_rows: list[tuple[int, str]], identity: FileIdentity) -> pl.DataFrame:
    """Ragged lines the CSV reader skipped, as rejected trade rows."""
    frame = pl.DataFrame(
        {"line": [n for n, _ in bad_rows], "raw": [t for _, t in bad_rows]},
        schema={"line": pl.UInt32(), "raw": pl.String()},
    )
    rows = frame.select(
        *(pl.lit(None, dtype).alias(name) for name, dtype in TRADE_SCHEMA.items() if name not in ("line", "raw")),
        "line",
        "raw",
    ).select(list(TRADE_SCHEMA))
    rows = fill_identity(rows.with_columns(pl.lit("trade").alias("price_side")), identity)
    return rows.with_columns(
        pl.lit(["row_unparseable"]).alias("checks"), pl.format("line {}: {}", "line", "raw").alias("detail")
    )


def judge_trade_stream(
    batches: Iterable[pl.DataFrame],
    fmt: TradeFormat,
    head: TradeHead,
    identity: FileIdentity,
    threshold: float,
    bad_rows: list[tuple[int, str]] | None = None,
) -> TradeFileVerdict:
    """Consume a file's raw batches: normalise, gate, aggregate into minute partials (merged as they come)."""
    verdict = TradeFileVerdict()
    partials: list[pl.DataFrame] = []
    previous_ts = None
    for raw in batches:
        trades = fill_identity(fmt.normalize(raw, head), identity)
        bad_symbols = trades.filter(~pl.col("symbol").str.contains(SYMBOL_PATTERN))
        if bad_symbols.height:
            verdict.reason = (
                f"invalid symbol {bad_symbols.item(0, 'symbol')!r} in the file: must match {SYMBOL_PATTERN}"
            )
            return verdict
        verdict.rows_read += trades.height
        if "open" in trades.columns:  # vendor candles with a price side (LEAN minute files)
            passed, rejected = check_candles(trades)
            verdict.rows_loaded += passed.height
            if rejected.height:
                verdict.rejected.append(_as_trade_rows(rejected))
                verdict.rows_rejected += rejected.height
            partials.append(candle_partials(passed, identity.path, identity.source_id))
            continue
        gated = check_trades(trades, previous_ts)
        verdict.rows_duplicate += gated.duplicates_dropped
        verdict.rows_loaded += gated.passed.height
        if gated.rejected.height:
            verdict.rejected.append(gated.rejected)
            verdict.rows_rejected += gated.rejected.height
        if gated.late.height:
            verdict.late_rows += gated.late.height
            if sum(f.height for f in verdict.late) < MAX_WARNINGS_PER_FILE:
                verdict.late.append(gated.late.head(MAX_WARNINGS_PER_FILE))
        if gated.passed.height:
            previous_ts = gated.passed.get_column("ts")[-1]
            partials.append(minute_partials(gated.passed, identity.path, identity.source_id))
            if len(partials) > 16:  # keep memory flat: fold the file's partials as they pile up
                partials = [merge_partials(pl.concat(partials, how="vertical"))]
    if bad_rows:
        unparsed = _unparsed_rows(bad_rows, identity)
        verdict.rejected.append(unparsed)
        verdict.rows_rejected += unparsed.height
        verdict.rows_read += unparsed.height
    verdict.partials = merge_partials(pl.concat(partials, how="vertical")) if partials else empty_partials()
    if verdict.rows_read == 0:
        verdict.reason = "file has no data rows"
    elif verdict.rows_rejected / verdict.rows_read > threshold:
        verdict.reason = (
            f"{verdict.rows_rejected} of {verdict.rows_read} rows failed error checks, above the file threshold"
        )
    if verdict.reason:
        verdict.partials = empty_partials()
        verdict.rows_loaded = 0
    return verdict


def quarantine_rows(verdict: TradeFileVerdict, source_id: int, run_id: str, now: datetime) -> pl.DataFrame:
    """``quarantine_trades`` rows of a judged file."""
    if not verdict.rejected:
        return empty_quarantine()
    frame = pl.concat([f.select(QUARANTINE_COLUMNS) for f in verdict.rejected], how="vertical_relaxed")
    return frame.with_columns(
        pl.lit(source_id, pl.UInt64).alias("source_id"),
        pl.lit(run_id).alias("run_id"),
        pl.lit(now).cast(pl.Datetime("us", "UTC")).alias("quarantined_at"),
    ).select(list(QUARANTINE_SCHEMA))


QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "venue": pl.String(),
    "symbol": pl.String(),
    "ts": pl.Datetime("us", "UTC"),
    "price": pl.Float64(),
    "size": pl.Float64(),
    "side": pl.Int8(),
    "trade_id": pl.Int64(),
    "source_id": pl.UInt64(),
    "line": pl.UInt32(),
    "raw": pl.String(),
    "checks": pl.List(pl.String()),
    "detail": pl.String(),
    "run_id": pl.String(),
    "quarantined_at": pl.Datetime("us", "UTC"),
}


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def anomaly_rows(verdict: TradeFileVerdict, source_id: int, run_id: str, now: datetime) -> pl.DataFrame:
    """One anomaly per (rejected row, check) and per out-of-order trade (first 1,000 of a file)."""
    parts = []
    for frame, severity in [(f, "error") for f in verdict.rejected] + [
        (f.with_columns(pl.lit([OUT_OF_ORDER_CHECK]).alias("checks")), "warn") for f in verdict.late
    ]:
        ts = pl.col("ts").dt.truncate("1m").cast(TS_TYPE).fill_null(pl.lit(0).cast(TS_TYPE))
        parts.append(
            frame.select("venue", "symbol", ts.alias("ts"), "checks", "detail", "line")
            .explode("checks")
            .select(
                "venue",
                "symbol",
                "ts",
                pl.col("ts").alias("end_ts"),
                pl.lit(1, pl.UInt32).alias("minutes"),
                pl.col("checks").alias("check"),
                pl.lit(severity).alias("severity"),
                "detail",
                pl.lit(source_id, pl.UInt64).alias("source_id"),
                "line",
            )
        )
    frame = pl.concat(parts, how="vertical") if parts else pl.DataFrame(schema=ANOMALY_COLUMNS)
    return frame.with_columns(
        pl.lit("").alias("known_event"),
        pl.lit(run_id).alias("run_id"),
        pl.lit(now).cast(pl.Datetime("us", "UTC")).alias("detected_at"),
    )


ANOMALY_COLUMNS: dict[str, pl.DataType] = {
    "venue": pl.String(),
    "symbol": pl.String(),
    "ts": TS_TYPE,
    "end_ts": TS_TYPE,
    "minutes": pl.UInt32(),
    "check": pl.String(),
    "severity": pl.String(),
    "detail": pl.String(),
    "source_id": pl.UInt64(),
    "line": pl.UInt32(),
}


def reasons_json(verdict: TradeFileVerdict) -> str:
    reasons: list[dict[str, object]] = [{"reason": verdict.reason}] if verdict.reason else []
    reasons += verdict.by_check()
    if verdict.late_rows:
        reasons.append({"warning": OUT_OF_ORDER_CHECK, "rows": verdict.late_rows})
    return json.dumps(reasons)
