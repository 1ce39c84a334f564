"""``marketops quarantine list | replay``: what was refused and why, and loading it again after a fix."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from core.errors import MarketopsError
from marketops.cli.app import _date, _fail, _flow_settings, _run_flow, _settings, console, out

quarantine_app = typer.Typer(help="List quarantined files and load them again after a fix.", no_args_is_help=True)


@quarantine_app.command("list")
def quarantine_list(
    reason: Annotated[
        str | None, typer.Option(help="Only files whose reasons mention this (a check name or words).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only files ingested on or after this UTC day (YYYY-MM-DD).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON list on stdout.")] = False,
) -> None:
    """Files quarantined whole or in part, newest first, with their reasons."""
    from storage.warm import open_warehouse
    from storage.warm.quarantine import quarantined_files

    day = _date(since, "--since")
    settings = _settings()
    try:
        with open_warehouse(settings) as warehouse:
            frame = quarantined_files(warehouse, reason=reason, since=day)
    except MarketopsError as exc:
        raise _fail(str(exc)) from exc
    rows = frame.select(
        "path", "status", "venue", "symbol", "rows_read", "rows_loaded", "rows_quarantined", "reasons", "ingested_at"
    ).to_dicts()
    if as_json:
        sys.stdout.write(json.dumps(rows, default=str) + "\n")
        return
    for r in rows:
        out.print(
            f"{r['status']:<11} {r['rows_quarantined']:>7,} of {r['rows_read']:>8,} rows  {r['path']}", highlight=False
        )
        out.print(f"            {r['reasons'][:300]}", highlight=False)
    console.print(f"{len(rows)} files in quarantine")


@quarantine_app.command("replay")
def quarantine_replay(
    file: Annotated[
        list[Path] | None, typer.Option("--file", help="A file to load again, quarantined or not (repeatable).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Every file quarantined on or after this UTC day (YYYY-MM-DD).")
    ] = None,
    revalidate: Annotated[bool, typer.Option(help="Validate the replayed days afterwards.")] = True,
) -> None:
    """Load quarantined files again (after a reader fix or an allowlist change); no row is loaded twice."""
    day = _date(since, "--since")
    if not file and day is None:
        raise _fail("say which files: --file PATH (repeatable) or --since YYYY-MM-DD", 2)
    _flow_settings()
    from flows.replay import replay

    summary = _run_flow(replay, paths=[str(p.resolve()) for p in file or []] or None, since=day, revalidate=revalidate)
    out.print(
        f"[bold]replay:[/] {summary['files_replayed']} of {summary['files_found']} quarantined files judged again — "
        f"{summary['rows_loaded']:,} rows loaded, {summary['rows_quarantined']:,} still quarantined, "
        f"{summary.get('files_still_quarantined', 0)} files still quarantined whole"
    )
    if summary["files_found"] == 0:
        out.print(
            "  nothing matched; to apply an allowlist change to warnings (gaps, spikes, stale runs), "
            "run `marketops validate --since DAY --until DAY` for the event's days"
        )
    if summary["files_missing"]:
        out.print(f"  source files gone (not replayed): {', '.join(summary['files_missing'])}")
    if summary["validated"]:
        out.print(f"  validate: {summary['validated']}")
    nothing = summary["files_replayed"] > 0 and summary["rows_loaded"] == 0
    if nothing:  # say so plainly, with the reasons, and do not report success
        console.print(
            "[bold red]replay loaded nothing:[/] the files are still refused, with the same options as before"
        )
        for problem in summary.get("problems", [])[:20]:
            console.print(f"  {problem['status']:<11} {problem['path']}: {problem['reasons'][:300]}", highlight=False)
        console.print(
            "  a replay reads each file with the options of its first load; to read it differently use "
            "`marketops ingest --reprocess PATH --timezone/--date-order/--format/--venue/--symbol ...`"
        )
    if summary["files_missing"] or nothing:
        raise typer.Exit(1)
