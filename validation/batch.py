"""Judge one batch of parsed files: what loads, what is quarantined and why, what the manifest says.

A pure function of frames: it decides everything the load will write, so the storage side only
writes, and a test can check every decision without a warehouse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from core.errors import ContractViolation
from core.formats.frame import RAW_SCHEMA, TS_TYPE
from core.normalize import Identity, to_candidates
from core.parse import ParsedFile
from validation.catalogue import ERROR, WARN
from validation.contracts import BARS_COLUMNS, Bars, CandidateBars, RawBars, enforce
from validation.gate import GateResult, gate_check, isolate_files
from validation.known_events import Allowlist, annotate

STATUS_LOADED = "loaded"
STATUS_PARTIAL = "partial"
STATUS_QUARANTINED = "quarantined"
STATUS_FAILED = "failed"

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


@dataclass(frozen=True)
class BatchVerdict:
    bars: pl.DataFrame  # exactly the bars_1m columns, Bars contract enforced
    quarantine: pl.DataFrame  # quarantine_bars rows
    anomalies: pl.DataFrame  # one row per (rejected row, failed check)
    manifest: pl.DataFrame  # one ingest_files row per file


def _contract_candidates(parsed: ParsedFile, version: int) -> pl.DataFrame | None:
    """RawBars -> normalise -> CandidateBars for one file; a violation quarantines that file alone."""
    assert parsed.raw is not None
    try:
        raw = enforce(RawBars, parsed.raw)
        return enforce(
            CandidateBars, to_candidates(raw, Identity(parsed.venue, parsed.symbol, parsed.source_id, version))
        )
    except ContractViolation as exc:
        parsed.reason = str(exc)
        return None


def _batch_candidates(files: list[ParsedFile], version: int) -> list[pl.DataFrame]:
    """Contracts once over the whole batch (a pandera call costs milliseconds, a batch holds many
    files); only when that fails, file by file, so the violation quarantines just its own file."""
    readable = [f for f in files if f.reason is None and f.raw is not None]
    if not readable:
        return []
    try:
        enforce(RawBars, pl.concat([f.raw for f in readable if f.raw is not None], how="vertical"))
        frames = [
            to_candidates(f.raw, Identity(f.venue, f.symbol, f.source_id, version))
            for f in readable
            if f.raw is not None
        ]
        return [enforce(CandidateBars, pl.concat(frames, how="vertical"))]
    except ContractViolation:
        return [c for f in readable if (c := _contract_candidates(f, version)) is not None]


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


def judge_batch(
    files: list[ParsedFile],
    *,
    version: int,
    run_id: str,
    threshold: float,
    now: datetime,
    allowlist: Allowlist | None = None,
) -> BatchVerdict:
    allowlist = allowlist or Allowlist((), "none")
    candidates = _batch_candidates(files, version)
    if not candidates:  # every file unreadable: judge an empty frame so the outputs keep their shape
        candidates = [to_candidates(pl.DataFrame(schema=RAW_SCHEMA), Identity("generic", "X", 0, version))]
    gated = gate_check(pl.concat(candidates, how="vertical"))
    gated = GateResult(gated.passed, _explained(gated.rejected, allowlist), gated.duplicates_dropped, gated.warnings)
    result, isolated = isolate_files(gated, threshold)
    bars = enforce(Bars, result.passed.select(BARS_COLUMNS)).select(BARS_COLUMNS)
    rejected = result.rejected.drop("explained")
    quarantine = rejected.select(
        *BARS_COLUMNS,
        "line",
        "raw",
        "checks",
        "detail",
        pl.lit(run_id).alias("run_id"),
        pl.lit(now).cast(pl.Datetime("us", "UTC")).alias("quarantined_at"),
    )
    anomalies = pl.concat(
        [_row_anomalies(rejected, ERROR, allowlist), _row_anomalies(result.warnings, WARN, allowlist)], how="vertical"
    ).with_columns(
        pl.lit(run_id).alias("run_id"),
        pl.lit(now).cast(pl.Datetime("us", "UTC")).alias("detected_at"),
    )
    manifest = _manifest(files, bars, rejected, result.duplicates_dropped, isolated, run_id, now)
    return BatchVerdict(bars=bars, quarantine=quarantine, anomalies=anomalies, manifest=manifest)


def _manifest(
    files: list[ParsedFile],
    bars: pl.DataFrame,
    rejected: pl.DataFrame,
    dropped: pl.DataFrame,
    isolated: set[int],
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
        if f.reason is not None:
            status, reasons = STATUS_QUARANTINED, [{"reason": f.reason}]
        else:
            # sorted: group_by order is arbitrary, and a rerun (or another runner) must store the same text
            checks = sorted(s.get("by_check") or [], key=lambda c: c["check"])
            reasons = [{"check": c["check"], "rows": c["rows"]} for c in checks]
            if f.source_id in isolated:
                status = STATUS_QUARANTINED
                reasons.insert(
                    0,
                    {
                        "reason": (
                            f"{n_bad} of {n_bad + n_loaded + n_dup} rows failed error checks, above the file threshold"
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
