"""``marketops ingest``: load raw files into the warm tier and say what happened to every file and row."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from core.settings import load_settings
from marketops.cli.app import JsonOption, _fail, _flow_settings, _run_flow, emit_json, out


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories to scan for raw 1m files.")],
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="A reader: binance | histdata | mt4 | mt5 | kraken | lean | dukascopy | fxcm | generic | headerless "
            "or an installed plug-in; trades (any trade/quote reader) or a trade format (default: detect by content).",
        ),
    ] = None,
    venue: Annotated[str | None, typer.Option(help="Venue of every file (default: from path or format).")] = None,
    symbol: Annotated[str | None, typer.Option(help="Symbol of every file (default: from the file name).")] = None,
    timezone: Annotated[
        str | None, typer.Option(help="IANA zone of naive timestamps in generic files (default: settings).")
    ] = None,
    date_order: Annotated[
        str | None,
        typer.Option(
            "--date-order",
            help="dmy | mdy: order of a/b/yyyy dates when no day above 12 decides (default: refuse as ambiguous).",
        ),
    ] = None,
    reprocess: Annotated[
        bool,
        typer.Option(
            "--reprocess", help="Judge already-loaded files again with these options; replaces their earlier load."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Load new or changed raw files into the warm tier; bad files and rows are quarantined with reasons."""
    from core.errors import ConfigError
    from core.parse import checked_options

    missing = [str(p) for p in paths if not p.exists() and not p.is_symlink()]
    if missing:
        raise _fail(f"no such file or directory: {', '.join(missing)}", 2)
    settings = load_settings()
    try:  # every option checked before any file is touched or a Prefect server started
        checked_options(format, venue, symbol, timezone or settings.generic_timezone, date_order)
    except ConfigError as exc:
        raise _fail(str(exc), 2) from exc
    _flow_settings()
    from flows.ingest import ingest as ingest_flow

    summary = _run_flow(
        ingest_flow,
        progress_bar=not as_json,
        paths=[str(p.absolute()) for p in paths],
        format=format,
        venue=venue,
        symbol=symbol,
        timezone=timezone,
        date_order=date_order,
        reprocess=reprocess,
    )
    if as_json:
        emit_json(summary)
        return
    _print_ingest(summary)


def _print_ingest(summary: dict[str, Any]) -> None:
    """The run's files and rows, each as a total and the outcomes that add up to it."""
    from core.run_summary import IngestSummary

    figures = IngestSummary.from_dict(summary)
    out.print(f"[bold]ingest:[/] {figures.file_line()}", highlight=False)
    out.print(f"[bold]rows:[/] {figures.row_line()}", highlight=False)
    if summary.get("files_zone_defaulted"):
        out.print(
            f"[yellow]warning:[/] {summary['files_zone_defaulted']:,} files had naive times read in a default zone "
            f"({', '.join(summary.get('zone_defaults') or ())}); pass --timezone if that is wrong"
        )
