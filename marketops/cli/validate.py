"""``marketops validate | report``: re-check days of the warm tier and find the data-quality report."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from core.settings import load_settings
from marketops.cli.app import JsonOption, _fail, _flow_settings, _run_flow, emit_json, out
from marketops.cli.args import day_range


def _print_validation(summary: dict[str, Any]) -> None:
    """The headline's parts one per line: the range, then files, rows and symbol-days each adding up."""
    head, _, rest = summary["headline"].partition(": ")
    parts = rest.split("; ") if "; " in rest else [rest]
    out.print(f"[bold]validate:[/] {head}: {parts[0]}", highlight=False)
    for part in parts[1:]:
        out.print(f"  {part}", highlight=False)
    if summary["anomalies_by_check"]:
        out.print("  anomalies by check: " + ", ".join(f"{k}={v:,}" for k, v in summary["anomalies_by_check"].items()))
    if summary["known_events"]:
        out.print("  explained by known events: " + ", ".join(f"{k}={v:,}" for k, v in summary["known_events"].items()))
    if summary.get("report"):
        out.print(f"  report: {summary['report']}")


def validate(
    since: Annotated[str | None, typer.Option(help="First UTC day to check, YYYY-MM-DD (default: yesterday).")] = None,
    until: Annotated[
        str | None, typer.Option(help="Last UTC day to check, inclusive (default: yesterday, or --since).")
    ] = None,
    report: Annotated[bool, typer.Option(help="Write the HTML data-quality report.")] = True,
    fail_on_breach: Annotated[bool, typer.Option(help="Exit 3 when a pass rate is below the threshold.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Re-check the warm store for a range of days: gaps, duplicates, spikes, stale runs; pass rates and a report."""
    first, last = day_range(since, until)
    _flow_settings()
    from flows.validate import validate as validate_flow

    summary = _run_flow(validate_flow, progress_bar=not as_json, since=first, until=last, report=report)
    if as_json:
        emit_json(summary)
    else:
        _print_validation(summary)
    if fail_on_breach and summary["breach"]:
        raise typer.Exit(3)


def report(open_: Annotated[bool, typer.Option("--open", help="Open it in the default browser.")] = False) -> None:
    """Print the path of the latest data-quality report (HTML), or open it."""
    from core.report_links import report_link
    from storage.report_server import served_url
    from storage.reports import latest_report

    settings = load_settings()
    path = latest_report(settings.reports_dir)
    if path is None:
        raise _fail(f"no report yet in {settings.reports_dir}: run `marketops validate` first")
    out.print(str(path), highlight=False)
    link = report_link(path, settings.reports_dir, served_url(settings))
    if link.served:
        out.print(f"served at {link.url}", highlight=False)
    if open_:
        import webbrowser

        if not webbrowser.open(link.url):
            raise _fail(f"no browser to open {link.url}")
