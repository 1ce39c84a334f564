"""Judge one batch of parsed files: what loads, what is quarantined and why, what the manifest says.

A pure function of frames: it decides everything the load will write, so the storage side only
writes, and a test can check every decision without a warehouse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from core.errors import ContractViolation
from core.fingerprint import file_precedence
from core.formats.frame import RAW_SCHEMA, TS_TYPE
from core.normalize import Identity, stacked_candidates, to_candidates
from core.parse import ParsedFile
from validation.catalogue import ANOMALY_SCHEMA, ERROR, WARN, empty_anomalies
from validation.contracts import BAR_TABLE_COLUMNS, enforce_boundary
from validation.duplicates import conflicting_copies
from validation.gate import GateResult, Plausibility, gate_check, isolate_files
from validation.known_events import Allowlist, annotate

STATUS_LOADED = "loaded"
STATUS_PARTIAL = "partial"
STATUS_QUARANTINED = "quarantined"
STATUS_FAILED = "failed"
STATUS_DUPLICATE = "duplicate"  # the same bytes are settled under another path: reported, not loaded again
STATUS_SUPERSEDED = "superseded"  # an older version of a path whose newer version has been loaded
STATUS_SKIPPED = "skipped"  # a landing entry that is not a regular readable file: never opened

MANIFEST_SCHEMA: dict[str, pl.DataType] = {
    "path": pl.String(),
    "size": pl.UInt64(),
    "mtime_ns": pl.Int64(),
    "sha256": pl.String(),
    "source_id": pl.UInt64(),
    "format": pl.String(),
    "venue": pl.String(),
    "symbol": pl.String(),
    "first_ts": TS_TYPE,
    "last_ts": TS_TYPE,
    "rows_read": pl.UInt64(),
    "rows_loaded": pl.UInt64(),
    "rows_quarantined": pl.UInt64(),
    "rows_duplicate": pl.UInt64(),
    "status": pl.String(),
    "reasons": pl.String(),
    "run_id": pl.String(),
    "ingested_at": pl.Datetime("us", "UTC"),
    "zone_rule": pl.String(),
    "price_side": pl.String(),
    "reader_notes": pl.String(),
}
_EPOCH = pl.lit(0).cast(TS_TYPE)
_STORABLE_FROM = pl.lit(datetime(1900, 1, 1, tzinfo=UTC)).cast(TS_TYPE)
_STORABLE_UNTIL = pl.lit(datetime(2299, 12, 31, tzinfo=UTC)).cast(TS_TYPE)
_ANOMALY_COLUMNS = [*ANOMALY_SCHEMA, "known_event"]


@dataclass(frozen=True)
class BatchVerdict:
    bars: pl.DataFrame  # exactly the bars_1m columns, Bars contract enforced
    quarantine: pl.DataFrame  # quarantine_bars rows
    anomalies: pl.DataFrame  # one row per (rejected row, failed check), plus cross-file conflicts
    manifest: pl.DataFrame  # one ingest_files row per file


def failure_reason(exc: BaseException) -> str:
    """``Class: first line of the message`` — what a person needs to know why a file was refused."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:500]}" if text else type(exc).__name__


def _contract_candidates(parsed: ParsedFile, version: int) -> pl.DataFrame | None:
    """RawBars -> normalise -> CandidateBars for one file; anything it raises quarantines that file alone."""
    assert parsed.raw is not None
    try:
        raw = enforce_boundary("RawBars", parsed.raw)
        identity = Identity(parsed.venue, parsed.symbol, parsed.source_id, version)
        return enforce_boundary("CandidateBars", to_candidates(raw, identity))
    except ContractViolation as exc:
        parsed.reason = str(exc)
    except Exception as exc:
        parsed.reason = failure_reason(exc)
    return None


def _batch_candidates(files: list[ParsedFile], versions: dict[int, int]) -> list[pl.DataFrame]:
    """Contracts and normalisation once over the whole batch (the files stacked with a file index, every
    column computed in one pass); only when that fails, file by file, so the violation quarantines just
    its own file."""
    readable = [f for f in files if f.reason is None and f.raw is not None]
    if not readable:
        return []
    try:
        raws = [f.raw for f in readable if f.raw is not None]
        stacked = enforce_boundary("RawBars", pl.concat(raws, how="vertical", rechunk=True))
        identities = [Identity(f.venue, f.symbol, f.source_id, versions[f.source_id]) for f in readable]
        candidates = stacked_candidates(stacked, [raw.height for raw in raws], identities)
        return [enforce_boundary("CandidateBars", candidates)]
    except Exception:
        return [c for f in readable if (c := _contract_candidates(f, versions[f.source_id])) is not None]


def _row_anomalies(rows: pl.DataFrame, severity: str, allowlist: Allowlist) -> pl.DataFrame:
    """One anomaly per (row, check), annotated with the known event that explains it, if any."""
    exploded = (
        rows.select("venue", "symbol", "ts", "checks", "detail", "source_id", "line")
        .explode("checks")
        .select(
            "venue",
            "symbol",
            pl.col("ts").fill_null(_EPOCH),
            pl.col("ts").fill_null(_EPOCH).alias("end_ts"),
            pl.lit(1, pl.UInt32).alias("minutes"),
            pl.col("checks").alias("check"),
            pl.lit(severity).alias("severity"),
            "detail",
            "source_id",
            "line",
        )
    )
    return annotate(exploded, allowlist)


def _explained(rejected: pl.DataFrame, allowlist: Allowlist) -> pl.DataFrame:
    """``explained``: every check a rejected row failed is covered by a known event."""
    if not allowlist.events or rejected.height == 0:
        return rejected.with_columns(pl.lit(False).alias("explained"))
    known = (
        _row_anomalies(rejected, "error", allowlist)
        .group_by("source_id", "line")
        .agg((pl.col("known_event") != "").all().alias("explained"))
    )
    return rejected.join(known, on=["source_id", "line"], how="left").with_columns(pl.col("explained").fill_null(False))


def _storable_ts(frame: pl.DataFrame) -> pl.DataFrame:
    """Times ClickHouse's DateTime64 cannot hold (before 1900, after 2299) become null in quarantine
    rows: the detail keeps the value, and an insert never wraps or fails on a row we refused anyway."""
    ok = (pl.col("ts") >= _STORABLE_FROM) & (pl.col("ts") <= _STORABLE_UNTIL)
    return frame.with_columns(pl.when(ok).then(pl.col("ts")).otherwise(None).alias("ts"))


@dataclass(frozen=True)
class _Judged:
    bars: pl.DataFrame
    rejected: pl.DataFrame
    warnings: pl.DataFrame
    dropped: pl.DataFrame
    isolated: set[int]


def _judge(
    files: list[ParsedFile], versions: dict[int, int], allowlist: Allowlist, threshold: float, plausible: Plausibility
) -> _Judged:
    candidates = _batch_candidates(files, versions)
    if not candidates:  # every file unreadable: judge an empty frame so the outputs keep their shape
        candidates = [to_candidates(pl.DataFrame(schema=RAW_SCHEMA), Identity("generic", "X", 0, 0))]
    gated = gate_check(pl.concat(candidates, how="vertical"), plausible)
    gated = GateResult(gated.passed, _explained(gated.rejected, allowlist), gated.duplicates_dropped, gated.warnings)
    result, isolated = isolate_files(gated, threshold)
    bars = enforce_boundary("Bars", result.passed.select(BAR_TABLE_COLUMNS)).select(BAR_TABLE_COLUMNS)
    rejected = _storable_ts(result.rejected.drop("explained"))
    return _Judged(bars, rejected, result.warnings, result.duplicates_dropped, isolated)


def _judge_isolated(
    files: list[ParsedFile], versions: dict[int, int], allowlist: Allowlist, threshold: float, plausible: Plausibility
) -> _Judged:
    """The whole batch at once (fast); if anything raises, file by file, so that whatever one file
    contains (an overflowing time, a value pandera cannot report) quarantines that file alone."""
    try:
        return _judge(files, versions, allowlist, threshold, plausible)
    except Exception:
        parts: list[_Judged] = []
        for f in files:
            try:
                parts.append(_judge([f], versions, allowlist, threshold, plausible))
            except Exception as exc:
                f.reason, f.raw = failure_reason(exc), None
                parts.append(_judge([f], versions, allowlist, threshold, plausible))
        return _Judged(
            pl.concat([p.bars for p in parts], how="vertical"),
            pl.concat([p.rejected for p in parts], how="vertical_relaxed"),
            pl.concat([p.warnings for p in parts], how="vertical_relaxed"),
            pl.concat([p.dropped for p in parts], how="vertical"),
            set().union(*(p.isolated for p in parts)),
        )


_KEY = ["venue", "symbol", "ts"]
_COPY_COLUMNS = [*_KEY, "source_id", "precedence", "open", "high", "low", "close", "volume"]


def _ranges_overlap(bars: pl.DataFrame) -> bool:
    """Whether two files of ``bars`` could share a minute: their [first, last] ranges of one symbol meet."""
    spans = (
        bars.group_by("venue", "symbol", "source_id")
        .agg(pl.col("ts").min().alias("first"), pl.col("ts").max().alias("last"))
        .sort("venue", "symbol", "first")
    )
    if spans.height < 2:
        return False
    same = (pl.col("venue") == pl.col("venue").shift()) & (pl.col("symbol") == pl.col("symbol").shift())
    reach = pl.col("last").cum_max().over("venue", "symbol").shift()
    return bool(spans.select((same & (pl.col("first") <= reach)).fill_null(False).any()).item())


def resolve_overlaps(
    bars: pl.DataFrame, existing: pl.DataFrame, precedence: dict[int, int], paths: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(bars to insert, ``duplicate_across_files`` anomalies) when minutes are held by more than one file.

    ``bars``: this batch's bars; ``existing``: what the store serves at minutes of the batch from other
    files; ``precedence``: source_id -> :func:`core.fingerprint.file_precedence` of every file involved;
    ``paths``: source_id, path. At each shared minute only the copy of the file with the greatest
    precedence may go in (a later insert wins ``ReplacingMergeTree``, so a losing copy is not inserted
    at all): the result is the same in one batch, in one run or across runs, in any order. Identical
    copies are silent; different values are one anomaly per minute naming both files.
    """
    if existing.height == 0 and not _ranges_overlap(bars):
        return bars, empty_anomalies()  # the common case, decided on one row per file instead of every bar
    mapping = {int(k): int(v) for k, v in precedence.items()}

    def ranked(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            pl.col("source_id").replace_strict(mapping, default=0, return_dtype=pl.UInt64).alias("precedence")
        ).select(_COPY_COLUMNS)

    mine = ranked(bars)
    both = pl.concat([mine, ranked(existing).cast(mine.schema)], how="vertical") if existing.height else mine
    shared = both.filter(pl.struct(_KEY).is_duplicated())
    if shared.height == 0:
        return bars, empty_anomalies()
    best = shared.sort(["precedence", "source_id"], descending=True).group_by(_KEY, maintain_order=True).first()
    losers = shared.join(best.select(*_KEY, "source_id"), on=[*_KEY, "source_id"], how="anti")
    kept = bars.join(losers.select(*_KEY, "source_id"), on=[*_KEY, "source_id"], how="anti")
    anomalies = conflicting_copies(shared.with_columns(pl.col("precedence").alias("version")), paths)
    return kept, anomalies


def judge_batch(
    files: list[ParsedFile],
    *,
    version: int,
    run_id: str,
    threshold: float,
    now: datetime,
    allowlist: Allowlist | None = None,
    plausibility: Plausibility | None = None,
    duplicates: set[int] | None = None,
) -> BatchVerdict:
    """Everything the load of one batch writes; never raises for anything a file contains.

    ``version``: the load's ``bars_1m.version`` (newer loads win ``ReplacingMergeTree``); ``duplicates``:
    source ids of files whose bytes are already settled under another path (reported, not loaded).
    Minutes two files of the batch both hold go in once, from the file of greater precedence
    (:func:`resolve_overlaps`); the manifest still counts every row a file delivered that passed.
    """
    allowlist = allowlist or Allowlist((), "none")
    plausible = plausibility or Plausibility.default(now)
    judged = _judge_isolated(
        files, dict.fromkeys((f.source_id for f in files), version), allowlist, threshold, plausible
    )
    quarantine = judged.rejected.select(
        *BAR_TABLE_COLUMNS,
        "line",
        "raw",
        "checks",
        "detail",
        pl.lit(run_id).alias("run_id"),
        pl.lit(now).cast(pl.Datetime("us", "UTC")).alias("quarantined_at"),
    )
    paths = pl.DataFrame(
        {"source_id": [f.source_id for f in files], "path": [f.ref.path for f in files]},
        schema={"source_id": pl.UInt64, "path": pl.String},
    )
    precedence = {f.source_id: file_precedence(f.ref.path, f.ref.size) for f in files}
    bars, conflicts = resolve_overlaps(judged.bars, judged.bars.clear(), precedence, paths)
    anomalies = pl.concat(
        [
            _row_anomalies(judged.rejected, ERROR, allowlist),
            _row_anomalies(judged.warnings, WARN, allowlist),
            annotate(conflicts, allowlist).select(_ANOMALY_COLUMNS),
        ],
        how="vertical_relaxed",
    ).with_columns(
        pl.lit(run_id).alias("run_id"),
        pl.lit(now).cast(pl.Datetime("us", "UTC")).alias("detected_at"),
    )
    manifest = _manifest(
        files, judged.bars, judged.rejected, judged.dropped, judged.isolated, duplicates or set(), run_id, now
    )
    return BatchVerdict(bars=bars, quarantine=quarantine, anomalies=anomalies, manifest=manifest)


def with_store_overlaps(
    verdict: BatchVerdict, existing: pl.DataFrame, known: pl.DataFrame, allowlist: Allowlist | None = None
) -> BatchVerdict:
    """Resolve the batch against what the store already serves at its minutes from other files
    (``existing``: venue, symbol, ts, source_id, OHLCV; ``known``: source_id, path, size of those files):
    copies that lose to a stored file of greater precedence are not inserted, and conflicts become
    ``duplicate_across_files`` anomalies — exactly as if both files had come in this batch."""
    if existing.height == 0:
        return verdict
    files = pl.concat(
        [verdict.manifest.select("source_id", "path", "size"), known.select("source_id", "path", "size")],
        how="vertical_relaxed",
    ).unique("source_id", keep="first")
    precedence = {int(i): file_precedence(p, int(z)) for i, p, z in files.iter_rows()}
    bars, found = resolve_overlaps(verdict.bars, existing, precedence, files.select("source_id", "path"))
    if found.height == 0:
        return BatchVerdict(bars, verdict.quarantine, verdict.anomalies, verdict.manifest)
    stamp = verdict.manifest.select("run_id", "ingested_at").head(1)
    extra = annotate(found, allowlist or Allowlist((), "none")).select(_ANOMALY_COLUMNS)
    extra = extra.with_columns(
        pl.lit(stamp["run_id"][0] if stamp.height else "").alias("run_id"),
        pl.lit(stamp["ingested_at"][0] if stamp.height else datetime.now(UTC))
        .cast(pl.Datetime("us", "UTC"))
        .alias("detected_at"),
    )
    anomalies = pl.concat([verdict.anomalies, extra], how="vertical_relaxed").unique(
        ["venue", "symbol", "ts", "check", "source_id", "line"], keep="first", maintain_order=True
    )
    return BatchVerdict(bars, verdict.quarantine, anomalies, verdict.manifest)


def _manifest(
    files: list[ParsedFile],
    bars: pl.DataFrame,
    rejected: pl.DataFrame,
    dropped: pl.DataFrame,
    isolated: set[int],
    duplicates: set[int],
    run_id: str,
    now: datetime,
) -> pl.DataFrame:
    loaded = bars.group_by("source_id").agg(
        pl.len().alias("loaded"), pl.col("ts").min().alias("first_ts"), pl.col("ts").max().alias("last_ts")
    )
    by_check = (
        rejected.select("source_id", "checks")
        .explode("checks")
        .group_by("source_id", "checks")
        .len()
        .group_by("source_id")
        .agg(pl.struct(pl.col("checks").alias("check"), pl.col("len").alias("rows")).alias("by_check"))
    )
    quarantined_rows = rejected.group_by("source_id").len("quarantined")
    stats = {
        r["source_id"]: r
        for r in loaded.join(quarantined_rows, on="source_id", how="full", coalesce=True)
        .join(by_check, on="source_id", how="left")
        .join(dropped, on="source_id", how="left")
        .iter_rows(named=True)
    }
    rows = []
    for f in files:
        s = stats.get(f.source_id, {})
        n_loaded, n_bad, n_dup = s.get("loaded") or 0, s.get("quarantined") or 0, s.get("rows") or 0
        if f.source_id in duplicates:
            status, reasons = STATUS_DUPLICATE, [{"reason": f.reason or "duplicate file"}]
        elif f.reason is not None:
            status, reasons = STATUS_QUARANTINED, [{"reason": f.reason}]
        else:
            # sorted: group_by order is arbitrary, and a rerun (or another runner) must store the same text
            checks = sorted(s.get("by_check") or [], key=lambda c: c["check"])
            reasons = [{"check": c["check"], "rows": c["rows"]} for c in checks]
            if f.source_id in isolated:
                status = STATUS_QUARANTINED
                # rows moved to quarantine only because of the ratio did not fail a check themselves
                moved = sum(int(r["rows"]) for r in reasons if r["check"] == "file_error_ratio")
                reasons.insert(
                    0,
                    {
                        "reason": (
                            f"{n_bad - moved} of {n_bad + n_loaded + n_dup} rows failed error checks, "
                            "above the file threshold"
                        )
                    },
                )
            else:
                status = STATUS_PARTIAL if n_bad else STATUS_LOADED
        rows.append(
            {
                "path": f.ref.path,
                "size": f.ref.size,
                "mtime_ns": f.ref.mtime_ns,
                "sha256": f.sha256,
                "source_id": f.source_id,
                "format": f.format,
                "venue": f.venue,
                "symbol": f.symbol,
                "first_ts": s.get("first_ts"),
                "last_ts": s.get("last_ts"),
                "rows_read": f.raw.height if f.raw is not None else 0,
                "rows_loaded": n_loaded,
                "rows_quarantined": n_bad,
                "rows_duplicate": n_dup,
                "status": status,
                "reasons": json.dumps(reasons),
                "run_id": run_id,
                "ingested_at": now,
                "zone_rule": f.zone_rule,
                "price_side": f.price_side,
                "reader_notes": "; ".join(f.notes),
            }
        )
    return pl.DataFrame(rows, schema=MANIFEST_SCHEMA)
