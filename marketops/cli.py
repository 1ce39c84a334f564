"""``marketops``: run flows ad hoc, query the warm tier, report status. Exit 0 only on success."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from core.errors import MarketopsError
from core.settings import Settings, load_settings
from marketops.prefect_env import configure_prefect

app = typer.Typer(help="marketops: keep the hot, warm and cold market-data tiers fed, correct and recoverable.", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def _settings() -> Settings:
    settings = load_settings()
    configure_prefect(settings)
    return settings


def _fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def _run_flow(flow_fn: Any, **params: Any) -> dict[str, Any]:
    """Run a flow in-process; its final state decides the exit code, not the absence of exceptions."""
    state = flow_fn(**params, return_state=True)
    if not state.is_completed():
        raise _fail(f"{flow_fn.name} run ended {state.type.value}: {state.message}")
    result = state.result()
    return result if isinstance(result, dict) else {"result": result}


@app.command()
def init() -> None:
    """Create or upgrade the warm-tier schema (safe to run twice)."""
    from storage.schema import migrate, schema_version
    from storage.warm import open_warehouse

    settings = _settings()
    try:
        with open_warehouse(settings) as warehouse:
            applied = migrate(warehouse)
            version = schema_version(warehouse)
    except MarketopsError as exc:
        raise _fail(str(exc)) from exc
    out.print(f"warm tier ({settings.warm_backend}) at schema version {version}; applied now: {[m.version for m in applied] or 'nothing'}")
    out.print(f"home: {settings.home_dir}")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories to scan for raw 1m files.")],
    format: Annotated[str | None, typer.Option("--format", help="binance | histdata | generic (default: detect).")] = None,
    venue: Annotated[str | None, typer.Option(help="Venue of every file (default: from path or format).")] = None,
    symbol: Annotated[str | None, typer.Option(help="Symbol of every file (default: from the file name).")] = None,
    timezone: Annotated[str | None, typer.Option(help="Zone of naive timestamps in generic files (default: settings).")] = None,
) -> None:
    """Load new or changed raw files into the warm tier; bad files and rows are quarantined with reasons."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise _fail(f"no such file or directory: {', '.join(missing)}", 2)
    _settings()
    from flows.ingest import ingest as ingest_flow

    summary = _run_flow(ingest_flow, paths=[str(p.resolve()) for p in paths], format=format, venue=venue, symbol=symbol, timezone=timezone)
    _print_ingest(summary)


def _print_ingest(summary: dict[str, Any]) -> None:
    processed = summary["files_seen"] - summary["files_skipped"]
    out.print(
        f"[bold]ingest:[/] {summary['files_seen']:,} files seen, {summary['files_skipped']:,} unchanged, {processed:,} processed — "
        f"{summary['pass_rate_files']:.2%} passed ({summary['files_loaded']:,} loaded, {summary['files_partial']:,} partial), "
        f"{summary['files_quarantined']:,} quarantined, {summary['files_failed']:,} failed"
    )
    out.print(
        f"[bold]rows:[/] {summary['rows_loaded']:,} loaded of {summary['rows_read']:,} read ({summary['pass_rate_rows']:.2%}), "
        f"{summary['rows_quarantined']:,} quarantined, {summary['rows_duplicate']:,} exact duplicates dropped"
    )


@app.command()
def demo(
    symbols: Annotated[int, typer.Option(min=1, max=200, help="Symbols to generate.")] = 4,
    days: Annotated[int, typer.Option(min=1, max=3650, help="Days per symbol.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 42,
) -> None:
    """Generate sample raw files (with planted anomalies) under MARKETOPS_HOME and run the daily job on them."""
    from core.samples import InjectionManifest, SampleSpec, generate
    from storage.landing import write_file

    settings = _settings()
    landing = settings.samples_dir / "landing"
    manifest = InjectionManifest()
    spec = SampleSpec(symbols=symbols, days=days, seed=seed)
    with Progress(TextColumn("generating sample files"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as bar:
        job = bar.add_task("generate", total=symbols * days)
        for sample in generate(spec, manifest):
            write_file(landing, sample.relative_path, sample.data)
            bar.advance(job)
    (settings.samples_dir / "injected.json").write_text(json.dumps(manifest.as_dict(), indent=2))
    console.print(f"sample files in {landing}; planted anomalies listed in {settings.samples_dir / 'injected.json'}")

    from flows.daily import daily

    result = _run_flow(daily, paths=[str(landing)])
    _print_ingest(result["ingest"])
    expected = manifest.as_dict()
    out.print(
        f"[bold]planted:[/] {len(expected['injected'])} anomalies — expected {expected['expected_rows_quarantined']} rows and "
        f"{expected['expected_files_quarantined']} files quarantined, {expected['expected_rows_duplicate']} exact duplicates (a rerun loads nothing new)"
    )


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="ClickHouse SQL, run against the warm tier.")],
    format: Annotated[str, typer.Option("--format", help="auto | table | csv | json")] = "auto",
) -> None:
    """Run a query against the warm tier and print the result (a single value prints bare in auto mode)."""
    import polars as pl

    from storage.warm import open_warehouse

    if format not in {"auto", "table", "csv", "json"}:
        raise _fail(f"unknown format {format!r}: use auto, table, csv or json", 2)
    settings = _settings()
    try:
        with open_warehouse(settings) as warehouse:
            frame = warehouse.query_df(query)
    except MarketopsError as exc:
        raise _fail(str(exc)) from exc
    if format == "auto" and frame.shape == (1, 1):
        out.print(frame.item(), highlight=False)
    elif format == "csv":
        sys.stdout.write(frame.write_csv())
    elif format == "json":
        sys.stdout.write(json.dumps(frame.to_dicts(), default=str) + "\n")
    else:
        with pl.Config(tbl_rows=200, tbl_cols=30, fmt_str_lengths=80):
            out.print(str(frame), highlight=False)


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False) -> None:
    """What the tiers hold and how ingestion went."""
    from storage.schema import schema_version
    from storage.status import ingest_status, warm_status
    from storage.warm import open_warehouse

    settings = _settings()
    try:
        with open_warehouse(settings) as warehouse:
            version = schema_version(warehouse)
            report: dict[str, Any] = {"home": str(settings.home_dir), "schema_version": version}
            if version == 0:
                report |= {"warm": {"backend": warehouse.backend, "bars": 0, "symbols": 0}, "ingest": {"files_loaded": 0, "files_quarantined": 0, "rows_quarantined": 0}}
            else:
                report |= {"warm": warm_status(warehouse), "ingest": ingest_status(warehouse)}
    except MarketopsError as exc:
        raise _fail(str(exc)) from exc
    report["hot"] = {"backend": settings.hot_backend}
    if as_json:
        sys.stdout.write(json.dumps(report, default=str) + "\n")
        return
    for section, values in report.items():
        out.print(f"[bold]{section}[/]: {values}")


def main() -> None:
    app()
