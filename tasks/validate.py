"""Validate tasks: plan symbol batches, check each batch against the warm store, then judge the range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl
import pyarrow as pa
from prefect import task
from prefect.assets import materialize

from core.settings import Settings
from storage.reports import ensure_asset, write_report
from storage.warm import open_warehouse
from storage.warm.base import Warehouse
from storage.warm.quality import (
    RECENT_LIMIT,
    anomalies_in_range,
    cross_file_copies,
    days_ingested_since,
    delete_validate_anomalies,
    files_in_scope,
    problem_files,
    quarantined_in_range,
    range_bars,
    read_bars,
    source_paths,
    symbol_days_in_range,
    symbols_in_scope,
    validation_history,
    write_anomalies,
    write_symbol_days,
)
from tasks.lineage import warm
from tasks.retry import task_options
from validation.catalogue import ANOMALY_SCHEMA
from validation.contracts import SymbolDays, enforce
from validation.duplicates import conflicting_copies
from validation.expectations import behaviour_columns, run_suite
from validation.known_events import load_allowlist
from validation.planning import symbol_batches
from validation.quality import explain_quarantine, file_verdicts, pass_rates, reannotate, symbol_days
from validation.report import ReportInputs, plotly_asset, render_index, render_report
from validation.warm_checks import (
    DAY_COUNTS_SCHEMA,
    CheckRules,
    ValidationRange,
    check_bars,
    expected_windows,
    settle_findings,
    started_before,
)

_STORED = [*ANOMALY_SCHEMA, "known_event"]


def _rules(settings: Settings) -> CheckRules:
    return CheckRules(settings.venue_sessions, settings.venue_calendars, settings.dq_thresholds)


@task(name="plan_validation", **task_options())
def plan_validation(settings: Settings, first: date, last: date, now: datetime) -> list[list[dict[str, Any]]]:
    """Symbols with data around the range, in batches bounded by symbols and bars (one task each)."""
    rng = ValidationRange(first, last, now)
    with open_warehouse(settings) as warehouse:
        scope = symbols_in_scope(warehouse, rng.start, rng.end)
    return symbol_batches(
        scope, rng.load_start, rng.load_end, settings.validate_batch_symbols, settings.validate_batch_rows
    )


@dataclass(frozen=True)
class SymbolInputs:
    """What the catalogue needs from the warm store for one symbol batch, as Arrow tables."""

    symbols: pa.Table
    windows: pa.Table
    bars: pa.Table
    held: pa.Table  # quarantined rows of the range
    duplicates: pa.Table  # cross-file conflicts, already named


@dataclass(frozen=True)
class SymbolFindings:
    """A batch's settled anomalies and day counts (what a worker hands back)."""

    symbols: pa.Table
    found: pa.Table
    day_counts: pa.Table


def read_symbol_inputs(
    warehouse: Warehouse, batch: list[dict[str, Any]], first: date, last: date, now: datetime
) -> SymbolInputs:
    """The warehouse reads of one symbol batch (the part that must run where the warehouse opens)."""
    rng = ValidationRange(first, last, now)
    ts = pl.Datetime("ms", "UTC")
    symbols = pl.DataFrame(batch, schema={"venue": pl.String, "symbol": pl.String, "first_seen": ts, "last_seen": ts})
    windows = expected_windows(symbols, rng, RECENT_LIMIT)
    bars = read_bars(warehouse, symbols, rng.load_start, rng.load_end)
    held = quarantined_in_range(warehouse, rng.load_start, rng.load_end, symbols)
    copies = cross_file_copies(warehouse, symbols, rng.start, rng.end)
    duplicates = conflicting_copies(copies, source_paths(warehouse, copies["source_id"].to_list()))
    return SymbolInputs(symbols.to_arrow(), windows.to_arrow(), bars.to_arrow(), held.to_arrow(), duplicates.to_arrow())


def judge_symbols(settings: Settings, inputs: SymbolInputs, first: date, last: date, now: datetime) -> SymbolFindings:
    """Run the catalogue over one batch's bars (pure CPU: no warehouse, safe on any worker)."""
    rng = ValidationRange(first, last, now)
    outcome = check_bars(_frame(inputs.bars), _frame(inputs.windows), rng, _rules(settings))
    found = settle_findings(
        outcome.anomalies,
        _frame(inputs.held),
        _frame(inputs.duplicates),
        load_allowlist(settings.known_events_files),
    )
    return SymbolFindings(inputs.symbols, found.to_arrow(), outcome.day_counts.to_arrow())


def store_findings(
    warehouse: Warehouse, findings: SymbolFindings, first: date, last: date, now: datetime, run_id: str
) -> pl.DataFrame:
    """Rewrite the batch's validate anomalies in the warehouse; returns its day counts."""
    rng = ValidationRange(first, last, now)
    found = _frame(findings.found)
    delete_validate_anomalies(warehouse, _frame(findings.symbols), rng.start, rng.end, started_before(found, rng.start))
    write_anomalies(warehouse, found, "validate", run_id, now)
    return _frame(findings.day_counts)


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


@materialize(warm("anomalies"), asset_deps=[warm("bars_1m")], name="check_symbols", **task_options())
def check_symbols(
    settings: Settings, batch: list[dict[str, Any]], first: date, last: date, now: datetime, run_id: str
) -> pl.DataFrame:
    """Run the catalogue over one batch of symbols and rewrite its validate anomalies; returns its day counts."""
    with open_warehouse(settings) as warehouse:
        inputs = read_symbol_inputs(warehouse, batch, first, last, now)
        findings = judge_symbols(settings, inputs, first, last, now)
        return store_findings(warehouse, findings, first, last, now, run_id)


@task(name="read_symbols", **task_options())
def read_symbols(
    settings: Settings, batch: list[dict[str, Any]], first: date, last: date, now: datetime
) -> SymbolInputs:
    """The reads of ``check_symbols`` alone, for a runner whose workers cannot open the warehouse."""
    with open_warehouse(settings) as warehouse:
        return read_symbol_inputs(warehouse, batch, first, last, now)


@task(name="judge_symbol_batch", **task_options())
def judge_symbol_batch(
    settings: Settings, inputs: SymbolInputs, first: date, last: date, now: datetime
) -> SymbolFindings:
    """The CPU part of ``check_symbols`` alone (runs on a worker)."""
    return judge_symbols(settings, inputs, first, last, now)


@materialize(warm("anomalies"), asset_deps=[warm("bars_1m")], name="store_symbol_findings", **task_options())
def store_symbol_findings(
    settings: Settings, findings: SymbolFindings, first: date, last: date, now: datetime, run_id: str
) -> pl.DataFrame:
    """The writes of ``check_symbols`` alone."""
    with open_warehouse(settings) as warehouse:
        return store_findings(warehouse, findings, first, last, now, run_id)


@materialize(
    warm("symbol_days"), asset_deps=[warm("anomalies"), warm("ingest_files")], name="judge_range", **task_options()
)
def judge_range(
    settings: Settings, first: date, last: date, now: datetime, run_id: str, day_counts: list[pl.DataFrame]
) -> dict[str, Any]:
    """Annotate known events, write the symbol-day quality rows and compute the pass rates of the range."""
    rng = ValidationRange(first, last, now)
    allowlist = load_allowlist(settings.known_events_files)
    rules = _rules(settings)
    counts = pl.concat([pl.DataFrame(schema=DAY_COUNTS_SCHEMA), *day_counts], how="vertical")
    with open_warehouse(settings) as warehouse:
        judged, changed = reannotate(anomalies_in_range(warehouse, rng.start, rng.end), allowlist)
        for run, rows in changed.partition_by("run_id", as_dict=True).items():
            write_anomalies(warehouse, rows.select(_STORED), "ingest", str(run[0]), now)
        quarantined = explain_quarantine(quarantined_in_range(warehouse, rng.start, rng.end), judged)
        days = enforce(
            SymbolDays,
            symbol_days(counts, judged, quarantined.with_columns(day=pl.col("ts").dt.date()), rules.for_venue, first),
        )
        write_symbol_days(warehouse, days, first, last, run_id, now)
        files = file_verdicts(files_in_scope(warehouse, rng.start, rng.end), quarantined)
    rates = pass_rates(first, last, files, days, judged, settings.dq_pass_rate_threshold, allowlist.version)
    return {**rates.as_dict(), "run_id": run_id}


@task(name="write_dq_report", **task_options())
def write_dq_report(settings: Settings, rates: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Render the HTML report of a judged range (with the Great Expectations suite run over its bars)."""
    rng = ValidationRange(date.fromisoformat(rates["first"]), date.fromisoformat(rates["last"]), now)
    run_id = str(rates["run_id"])
    with open_warehouse(settings) as warehouse:
        anomalies = anomalies_in_range(warehouse, rng.start, rng.end)
        days = symbol_days_in_range(warehouse, rng.first, rng.last)
        files = problem_files(files_in_scope(warehouse, rng.start, rng.end))
        history = validation_history(warehouse, limit=400)  # the trend keeps runs of this range length only
        bars = (
            range_bars(warehouse, rng.start, rng.end, settings.validate_ge_max_rows)
            if settings.validate_ge_max_rows
            else None
        )
    current = pl.DataFrame(
        {
            "run_id": [run_id],
            "finished_at": [now],
            "range": [f"{rates['first']}..{rates['last']}"],
            "pass_rate_files": [rates["pass_rate_files"]],
            "pass_rate_rows": [rates["pass_rate_rows"]],
            "pass_rate_symbol_days": [rates["pass_rate_symbol_days"]],
        },
        schema=history.schema,
    )
    name = f"dq-{rates['first']}_{rates['last']}-{now:%Y%m%dT%H%M%S}.html"
    expectations = None
    if bars is not None:
        frame = behaviour_columns(bars, rng.start, rng.end, settings.venue_sessions, settings.venue_calendars)
        expectations = run_suite(frame).as_dict()
    plotly_src, plotly_file = plotly_asset()
    ensure_asset(settings.reports_dir, plotly_src, plotly_file)  # once for every report, not 4.8 MB inside each
    document = render_report(
        ReportInputs(
            run_id, now, rates, anomalies, days, files, pl.concat([history, current]), expectations, plotly_src
        )
    )
    entry = {
        "first": rates["first"],
        "last": rates["last"],
        "state": rates.get("state", "breach" if rates["breach"] else "ok"),
        "headline": rates["headline"],
        "pass_rate_files": rates["pass_rate_files"],
        "pass_rate_rows": rates["pass_rate_rows"],
        "pass_rate_symbol_days": rates["pass_rate_symbol_days"],
        "expectations_failed": len(expectations["failed"]) if expectations else None,
        "generated_at": now.isoformat(),
        "run_id": run_id,
    }
    path = write_report(settings.reports_dir, name, document, entry, render_index)
    return {"path": str(path), "latest": str(settings.reports_dir / "latest.html"), "expectations": expectations}


@task(name="days_to_validate", **task_options())
def days_to_validate(settings: Settings, ingested_since: datetime) -> tuple[date, date] | None:
    """The days a daily run's ingest touched (None when it loaded nothing: validate then checks yesterday)."""
    with open_warehouse(settings) as warehouse:
        return days_ingested_since(warehouse, ingested_since)
