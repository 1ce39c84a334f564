"""``marketops caches build | verify``: the cold-tier Parquet caches and their agreement with the warm tier."""

from __future__ import annotations

from typing import Annotated

import typer

from core.errors import MarketopsError
from marketops.cli.app import JsonOption, _date, _fail, _flow_settings, _run_flow, _settings, emit_json, out

caches_app = typer.Typer(help="Build and verify the cold-tier Parquet caches.", no_args_is_help=True)


@caches_app.command("build")
def caches_build(
    since: Annotated[str | None, typer.Option(help="Rebuild every day from this date (YYYY-MM-DD) on.")] = None,
    full: Annotated[bool, typer.Option("--full", help="Rebuild every day of every symbol.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Rebuild the cold files of the days whose bars changed since the last build."""
    since_day = _date(since, "--since")
    _flow_settings()
    from flows.caches import caches as caches_flow

    summary = _run_flow(caches_flow, progress_bar=not as_json, full=full, since=since_day)
    if as_json:
        emit_json(summary)
        return
    out.print(
        f"[bold]caches:[/] {summary['symbols']} symbols, {summary['days']} changed days -> "
        f"{summary['files_written']} files ({summary['rows_written']:,} rows), "
        f"{summary['stale_removed']} stale removed; views: {', '.join(summary['views']) or 'none'}"
    )
    if summary.get("catalog_note"):
        out.print(f"[yellow]{summary['catalog_note']}[/]")


@caches_app.command("verify")
def caches_verify() -> None:
    """Check the cold tier against its manifest (sha256, rows, unlisted files) AND against the warm tier (per
    symbol-day row counts and content hash); exit 1 on any difference. `caches build` repairs what it flags."""
    from core.cache_plan import warm_disagreements
    from storage.cold.factory import cold_store
    from storage.cold.manifest import cold_day_rows, read_manifest, read_sources, verify
    from storage.warm import open_warehouse
    from storage.warm.cache_source import day_fingerprints

    settings = _settings()
    store = cold_store(settings)
    problems = verify(store)
    try:
        with open_warehouse(settings) as warehouse:
            current = day_fingerprints(warehouse)
    except MarketopsError as exc:
        raise _fail(f"cannot compare with the warm tier: {exc}") from exc
    problems += warm_disagreements(current, read_sources(store), cold_day_rows(store))
    files = read_manifest(store).height
    if not problems:
        out.print(f"cold cache verified: {files} files match the manifest and {current.height} warm symbol-days")
        return
    for problem in problems:
        out.print(f"[red]{problem['path']}[/]: {problem['problem']}", highlight=False)
    raise _fail(f"{len(problems)} problems ({files} files in the manifest); `marketops caches build` repairs them")
