"""``marketops init | demo | up | down``: the schema, the sample data and the local Prefect stack."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from core.errors import MarketopsError
from core.settings import load_settings
from marketops.cli.app import _fail, _flow_settings, _run_flow, _settings, console, out
from marketops.cli.ingest import _print_ingest
from marketops.cli.validate import _print_validation


def init() -> None:
    """Create or upgrade the warm-tier schema (safe to run twice)."""
    from storage.warm import open_warehouse
    from storage.warm.schema import migrate, schema_version

    settings = _settings()
    try:
        with open_warehouse(settings) as warehouse:
            applied = migrate(warehouse)
            version = schema_version(warehouse)
    except MarketopsError as exc:
        raise _fail(str(exc)) from exc
    out.print(
        f"warm tier ({settings.warm_backend}) at schema version {version}; "
        f"applied now: {[m.version for m in applied] or 'nothing'}"
    )
    out.print(f"home: {settings.home_dir}")


def demo(
    symbols: Annotated[int, typer.Option(min=1, max=200, help="Symbols to generate.")] = 4,
    days: Annotated[int, typer.Option(min=1, max=3650, help="Days per symbol.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 42,
) -> None:
    """Generate sample raw files (with planted anomalies) under MARKETOPS_HOME and run the daily job on them."""
    from core.samples import InjectionManifest, SampleSpec, generate
    from storage.landing import write_file

    settings = _flow_settings()
    landing = settings.default_landing_dir  # where scheduled and UI-triggered runs look by default
    manifest = InjectionManifest()
    spec = SampleSpec(symbols=symbols, days=days, seed=seed)
    with Progress(
        TextColumn("generating sample files"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        job = bar.add_task("generate", total=symbols * days)
        for sample in generate(spec, manifest):
            write_file(landing, sample.relative_path, sample.data)
            bar.advance(job)
    settings.samples_dir.mkdir(parents=True, exist_ok=True)
    (settings.samples_dir / "injected.json").write_text(json.dumps(manifest.as_dict(), indent=2))
    console.print(f"sample files in {landing}; planted anomalies listed in {settings.samples_dir / 'injected.json'}")

    from flows.daily import daily

    result = _run_flow(daily, paths=[str(landing)])
    _print_ingest(result["ingest"])
    _print_validation(result["validate"])
    cached, warmed = result["caches"], result["warmup"]
    where = settings.cold_url or settings.cold_dir
    out.print(
        f"[bold]caches:[/] {cached['files_written']} Parquet files ({cached['rows_written']:,} rows) "
        f"under {where}; " + (cached.get("catalog_note") or f"DuckDB views in {settings.cold_dir / 'catalog.duckdb'}")
    )
    out.print(f"[bold]warmup:[/] hot tier ({settings.hot_backend}) epoch {warmed['epoch']}, {warmed['keys']:,} keys")
    expected = manifest.as_dict()
    out.print(
        f"[bold]planted:[/] {len(expected['injected'])} anomalies — "
        f"expected {expected['expected_rows_quarantined']} rows and "
        f"{expected['expected_files_quarantined']} files quarantined, "
        f"{expected['expected_rows_duplicate']} exact duplicates (a rerun loads nothing new)"
    )


def up(
    port: Annotated[int, typer.Option(help="Port of the Prefect server on 127.0.0.1.")] = 4200,
    workers: Annotated[int, typer.Option(min=1, help="Prefect workers to start on the work pool.")] = 1,
) -> None:
    """Start the local stack: Prefect server (state under MARKETOPS_HOME), work pool, every deployment, workers."""
    from deployments.local_stack import up as stack_up

    settings = _settings()
    try:
        with console.status("starting the local stack") as spinner:
            info = stack_up(settings, port, progress=lambda step: spinner.update(step), workers=workers)
    except MarketopsError as exc:
        raise _fail(str(exc)) from exc
    out.print(
        f"marketops stack is up: Prefect UI at {info.ui_url} "
        f"(server pid {info.server_pid}, worker pids {', '.join(map(str, info.workers))})"
        + (f"; reports at {info.reports_url}" if info.reports_url else "")
    )


def down() -> None:
    """Stop exactly the processes `marketops up` started and the background Prefect server (by recorded pids)."""
    from deployments.background_server import stop_server
    from deployments.local_stack import down as stack_down

    settings = load_settings()
    stopped = stack_down(settings) + stop_server(settings)
    out.print(f"stopped {len(stopped)} processes: {stopped}" if stopped else "the local stack was not running")
