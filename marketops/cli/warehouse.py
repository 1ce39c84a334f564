"""``marketops sql | status | optimize``: query the warm tier, report every tier's state, compact partitions."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from core.errors import MarketopsError
from marketops.cli.app import _fail, _flow_settings, _run_flow, _settings, console, out
from marketops.cli.args import clock, one_of
from marketops.cli.tables import frame_table, print_wide

SQL_FORMATS = ("auto", "table", "csv", "json")


def sql(
    query: Annotated[str, typer.Argument(help="ClickHouse SQL, run against the warm tier.")],
    format: Annotated[str, typer.Option("--format", help="auto | table | csv | json")] = "auto",
    write: Annotated[
        bool, typer.Option("--write", help="Allow statements that change data or schema (default: read-only).")
    ] = False,
) -> None:
    """Run a query against the warm tier and print the result (a single value prints bare in auto mode).

    Read-only (ClickHouse ``readonly = 1``) unless ``--write``: an ``ALTER TABLE … DELETE`` typed by
    mistake is refused by the server instead of rewriting the source of truth.
    """

    from storage.warm import open_warehouse

    one_of(format, SQL_FORMATS, "--format")
    settings = _settings()
    try:
        with open_warehouse(settings) as warehouse:
            frame = warehouse.query_df(query) if write else warehouse.query_df_readonly(query)
    except MarketopsError as exc:
        if not write and "READONLY" in str(exc):
            raise _fail(
                f"refused: the statement writes and `marketops sql` is read-only without --write ({exc})"
            ) from exc
        raise _fail(str(exc)) from exc
    if format == "auto" and frame.shape == (1, 1):
        out.print(frame.item(), highlight=False)
    elif format == "csv":
        sys.stdout.write(frame.write_csv())
    elif format == "json":
        sys.stdout.write(json.dumps(frame.to_dicts(), default=str) + "\n")
    else:
        print_wide(out, frame_table(frame))


def status(as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False) -> None:
    """What the tiers hold, how fresh they are, what ran last and what is next; exit 2 when a store is unreachable.

    Sections: warm, ingest, freshness (per venue:symbol newest bar, age, stale flag), quarantine_24h,
    validation (state ok | breach | no_data), maintenance, backups (last one, its age, whether its drill
    passed), cold, hot (epoch, age, per-symbol lag), orchestration (last finished run per flow and
    deployment, next scheduled run). An unreachable store gives its sections an ``error``.
    """
    from marketops.status import failed_sections, gather, render

    settings = _settings()
    report = gather(settings)
    if as_json:
        sys.stdout.write(json.dumps(report, default=str) + "\n")
    else:
        render(report, out)
    failed = failed_sections(report)
    if failed:
        console.print(f"[bold red]unreachable or failing:[/] {', '.join(failed)}")
        raise typer.Exit(2)


def optimize(
    cutoff: Annotated[str | None, typer.Option(help="HH:MM UTC after which no new partition is started.")] = None,
) -> None:
    """OPTIMIZE ... FINAL the partitions that changed since they were last optimized (a rerun is a cheap no-op)."""
    clock(cutoff, "--cutoff")
    _flow_settings()
    from flows.optimize import optimize as optimize_flow

    summary = _run_flow(optimize_flow, cutoff_utc=cutoff)
    out.print(
        f"[bold]optimize:[/] {summary['partitions_optimized']} of {summary['partitions_planned']} partitions, parts "
        f"{summary['parts_before']} -> {summary['parts_after']}, "
        f"rows {summary['rows_before']:,} -> {summary['rows_after']:,} "
        f"in {summary['seconds']} s ({summary['partitions_cut_off']} left for the cutoff)"
    )
