"""validate: re-check a range of the warm store across file boundaries and report its data quality."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
from prefect import flow, get_run_logger
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run

from core import progress
from core.alerts import DQ_PASS_RATE, Alert
from core.errors import ConfigError, MarketopsError
from core.proportions import percent
from core.report_links import ReportLink
from core.settings import load_settings
from flows import events
from flows.bounded import run_bounded
from flows.hooks import RUN_HOOKS, run_link
from flows.runners import SettingsTaskRunner, outcome, warehouse_in_flow
from tasks.alerts import notify
from tasks.reports import link_report
from tasks.retry import with_retry_policy
from tasks.runs import record_run
from tasks.setup import ensure_schema, warehouse_held
from tasks.validate import (
    check_symbols,
    judge_range,
    judge_symbol_batch,
    plan_validation,
    read_symbols,
    store_symbol_findings,
    write_dq_report,
)


class ValidationFailed(MarketopsError):
    """Some symbol batches could not be checked; their old anomalies stay until a rerun succeeds."""


def default_range(since: date | None, until: date | None, now: datetime) -> tuple[date, date]:
    """Both bounds inclusive; missing ones default to yesterday (UTC)."""
    yesterday = (now - timedelta(days=1)).date()
    first = since or until or yesterday
    last = until or max(first, yesterday)
    if last < first:
        raise ConfigError(f"--until {last} is before --since {first}")
    return first, last


@flow(
    name="validate",
    task_runner=SettingsTaskRunner(max_threads=4),
    **RUN_HOOKS,
)
def validate(since: date | None = None, until: date | None = None, report: bool = True) -> dict[str, Any]:
    """Check UTC days ``since``..``until`` (default: yesterday).

    Gaps, duplicates, spikes, stale runs; pass rates; report.
    """
    logger = get_run_logger()
    settings = load_settings()
    started = datetime.now(UTC)
    run_id = str(flow_run.id or f"local-{started:%Y%m%dT%H%M%S}")
    first, last = default_range(since, until, started)
    with_retry_policy(ensure_schema, settings)(settings)
    batches = with_retry_policy(plan_validation, settings)(settings, first, last, started)
    logger.info("validating %s..%s: %d symbols in %d batches", first, last, sum(len(b) for b in batches), len(batches))

    counts: list[pl.DataFrame] = []
    failed: list[str] = []
    in_flow = warehouse_in_flow(settings)  # workers run the catalogue, this process reads and writes
    check = with_retry_policy(check_symbols, settings)
    read, judge = with_retry_policy(read_symbols, settings), with_retry_policy(judge_symbol_batch, settings)
    store = with_retry_policy(store_symbol_findings, settings)

    def submit(batch: list[dict[str, Any]]) -> Any:
        if not in_flow:
            return check.submit(settings, batch, first, last, started, run_id)
        inputs = read(settings, batch, first, last, started, return_state=True)
        if inputs.is_failed():  # a failed state answers .result() like a failed future: the batch fails, not the run
            return inputs
        return judge.submit(settings, inputs.result(), first, last, started)

    shown = progress.current()
    shown.start("validate", sum(len(b) for b in batches), "symbols")
    for batch, result, done in warehouse_held(in_flow, run_bounded(batches, submit, settings.ingest_workers)):
        if in_flow and not isinstance(result, BaseException):
            result = outcome(store(settings, result, first, last, started, run_id, return_state=True))
        shown.advance(len(batch))
        if isinstance(result, BaseException):
            failed.append(f"{batch[0]['venue']}:{batch[0]['symbol']}..({len(batch)} symbols): {result}")
        else:
            counts.append(result)
        logger.info(
            "[%d/%d] batch of %d symbols %s",
            done,
            len(batches),
            len(batch),
            "failed" if isinstance(result, BaseException) else "checked",
        )
    shown.finish()
    if failed:
        raise ValidationFailed(f"{len(failed)} batches failed: " + "; ".join(failed[:3]))

    rates = with_retry_policy(judge_range, settings)(settings, first, last, started, run_id, counts)
    logger.info(rates["headline"])
    written = with_retry_policy(write_dq_report, settings)(settings, rates, started) if report else None
    link = with_retry_policy(link_report, settings)(settings, written["path"]) if written else None
    _publish(rates, written, link)
    if rates["breach"]:
        notify(
            settings,
            Alert(
                kind=DQ_PASS_RATE,
                title="marketops data quality below threshold",
                summary=rates["headline"],
                flow="validate",
                flow_run_id=run_id,
                link=run_link(run_id) if flow_run.id else None,
                details={"report": (written or {}).get("path")},
            ),
        )
    events.dq_breach(settings, rates, link.url if link else None)
    summary = {**rates, "report": (written or {}).get("path")}
    with_retry_policy(record_run, settings)(
        settings,
        run_id,
        "validate",
        "completed",
        started,
        datetime.now(UTC),
        {"since": first.isoformat(), "until": last.isoformat()},
        summary,
    )
    return summary


def _publish(rates: dict[str, Any], written: dict[str, Any] | None, link: ReportLink | None) -> None:
    lines = [
        f"# Validate {rates['first']}..{rates['last']}\n",
        rates["headline"],
        "",
        "| measure | checked | passed | pass rate |",
        "|---|---:|---:|---:|",
    ]
    days_passed = rates["symbol_days"] - rates["symbol_days_failed"]
    for measure, checked, passed in (
        ("files", rates["files_checked"], rates["files_passed"]),
        ("rows", rates["rows_checked"], rates["rows_passed"]),
        ("symbol-days", rates["symbol_days"], days_passed),
    ):
        lines.append(f"| {measure} | {checked:,} | {passed:,} | {percent(passed, checked, 3)} |")
    if rates["breach"]:
        lines.append(f"\n**Below the {rates['threshold']:.2%} threshold.**")
    ge = (written or {}).get("expectations")
    if ge:
        lines.append(
            f"\nGreat Expectations (`bars_1m_behaviour`, {ge['rows']:,} bars): "
            + (
                f"**{len(ge['failed'])} of {ge['evaluated']} failed**: " + ", ".join(ge["failed"])
                if ge["failed"]
                else "passed"
            )
        )
    if written:
        lines.append(f"\nReport: [{written['path']}]({link.url})" if link else f"\nReport: `{written['path']}`")
    create_markdown_artifact(key="validate-summary", markdown="\n".join(lines), description=rates["headline"])
    table = [{"check": k, "unexplained": v, "known_events": 0} for k, v in rates["anomalies_by_check"].items()]
    table += [
        {"check": f"known event {k}", "unexplained": 0, "known_events": v} for k, v in rates["known_events"].items()
    ]
    create_table_artifact(
        key="validate-anomalies-by-check",
        table=table or [{"check": "none", "unexplained": 0, "known_events": 0}],
        description="Anomalies of the range by check",
    )
    if written and link:
        create_link_artifact(
            key="validate-report",
            link=link.url,
            link_text="Data-quality report (HTML)",
            description=f"HTML report of this run (plotly.js from reports/assets, no internet needed). {link.note}",
        )
