"""``marketops``: run flows ad hoc, query the warm tier, report status. Exit 0 only on success."""

from __future__ import annotations

import json
import os
import signal
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from core.errors import MarketopsError
from core.settings import Settings, load_settings
from marketops.prefect_env import configure_prefect

app = typer.Typer(
    help="marketops: keep the hot, warm and cold market-data tiers fed, correct and recoverable.", no_args_is_help=True
)
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def _api_configured() -> bool:
    """A Prefect API is set: exported, or in Prefect's active settings when Prefect is already loaded (the test
    harness sets it there; a fresh command process does not pay for importing Prefect to ask)."""
    if "PREFECT_API_URL" in os.environ:
        return True
    if "prefect" not in sys.modules:
        return False
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


def _settings() -> Settings:
    """Settings, Prefect defaults, and the API of the local stack or background server when one is up."""
    settings = load_settings()
    if not _api_configured():
        from deployments.background_server import attach

        api_url = attach(settings)
        if api_url is not None:
            os.environ["PREFECT_API_URL"] = api_url
    configure_prefect(settings)
    return settings


def _flow_settings() -> Settings:
    """:func:`_settings` for a command that runs a flow: without an API it starts the background Prefect server
    once (later commands reuse it; it stops itself when idle) instead of a temporary server per command."""
    if not _api_configured():
        from deployments.background_server import ensure_server

        os.environ["PREFECT_API_URL"] = ensure_server(load_settings())
    return _settings()


def _fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


class _Stopped(BaseException):
    """SIGTERM/SIGINT/SIGHUP while a flow runs: unwinds the flow (Prefect marks the run crashed, hooks record it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


def _stop(signum: int, _frame: Any) -> None:
    raise _Stopped(signum)


def _run_flow(flow_fn: Any, **params: Any) -> dict[str, Any]:
    """Run a flow in-process; its final state decides the exit code, not the absence of exceptions.

    SIGTERM, SIGINT and a closed terminal (SIGHUP) stop the run cleanly: the flow unwinds as crashed (its
    on-crashed hooks alert and record it), then the process exits at once with 128 + the signal, so no worker
    thread can keep it, or the warehouse lock it holds, alive. A SIGKILL is settled by the next run through
    the run lease."""
    import threading

    from prefect.exceptions import TerminationSignal

    stops = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, _stop) for sig in stops} if main else {}
    try:
        state = flow_fn(**params, return_state=True)
    except (_Stopped, KeyboardInterrupt, TerminationSignal) as exc:
        signum = getattr(exc, "signum", None) or getattr(exc, "signal", None) or signal.SIGINT
        console.print(
            f"[bold red]stopped:[/] {flow_fn.name} interrupted by {signal.Signals(signum).name}; "
            "run recorded as crashed"
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(128 + signum)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if state.is_crashed() and isinstance(state.message, str) and "stopped by SIG" in state.message:
        sys.stdout.flush()
        sys.stderr.flush()
        name = next((s for s in ("SIGINT", "SIGHUP") if s in state.message), "SIGTERM")
        os._exit(128 + signal.Signals[name])
    if not state.is_completed():
        raise _fail(f"{flow_fn.name} run ended {state.type.value}: {state.message}")
    result = state.result()
    return result if isinstance(result, dict) else {"result": result}


@app.command()
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


@app.command()
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
        paths=[str(p.absolute()) for p in paths],
        format=format,
        venue=venue,
        symbol=symbol,
        timezone=timezone,
        date_order=date_order,
        reprocess=reprocess,
    )
    _print_ingest(summary)


def _print_ingest(summary: dict[str, Any]) -> None:
    processed = summary["files_seen"] - summary["files_skipped"]
    out.print(
        f"[bold]ingest:[/] {summary['files_seen']:,} files seen, {summary['files_skipped']:,} unchanged, "
        f"{processed:,} processed — "
        f"{summary['pass_rate_files']:.2%} passed ({summary['files_loaded']:,} loaded, "
        f"{summary['files_partial']:,} partial), "
        f"{summary['files_quarantined']:,} quarantined, {summary.get('files_duplicate', 0):,} duplicate, "
        f"{summary.get('files_unreadable', 0):,} skipped, {summary['files_failed']:,} failed"
    )
    out.print(
        f"[bold]rows:[/] {summary['rows_loaded']:,} loaded of {summary['rows_read']:,} read "
        f"({summary['pass_rate_rows']:.2%}), "
        f"{summary['rows_quarantined']:,} quarantined, {summary['rows_duplicate']:,} exact duplicates dropped"
    )
    if summary.get("files_zone_defaulted"):
        out.print(
            f"[yellow]warning:[/] {summary['files_zone_defaulted']:,} files had naive times read in a default zone "
            f"({', '.join(summary.get('zone_defaults') or ())}); pass --timezone if that is wrong"
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


def _date(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise _fail(f"{flag} {value!r} is not a date (YYYY-MM-DD)", 2) from exc


def _print_validation(summary: dict[str, Any]) -> None:
    out.print(f"[bold]validate:[/] {summary['headline']}")
    if summary["anomalies_by_check"]:
        out.print("  anomalies by check: " + ", ".join(f"{k}={v:,}" for k, v in summary["anomalies_by_check"].items()))
    if summary["known_events"]:
        out.print("  explained by known events: " + ", ".join(f"{k}={v:,}" for k, v in summary["known_events"].items()))
    if summary.get("report"):
        out.print(f"  report: {summary['report']}")


@app.command()
def validate(
    since: Annotated[str | None, typer.Option(help="First UTC day to check, YYYY-MM-DD (default: yesterday).")] = None,
    until: Annotated[
        str | None, typer.Option(help="Last UTC day to check, inclusive (default: yesterday, or --since).")
    ] = None,
    report: Annotated[bool, typer.Option(help="Write the HTML data-quality report.")] = True,
    fail_on_breach: Annotated[bool, typer.Option(help="Exit 3 when a pass rate is below the threshold.")] = False,
) -> None:
    """Re-check the warm store for a range of days: gaps, duplicates, spikes, stale runs; pass rates and a report."""
    first, last = _date(since, "--since"), _date(until, "--until")
    _flow_settings()
    from flows.validate import validate as validate_flow

    summary = _run_flow(validate_flow, since=first, until=last, report=report)
    _print_validation(summary)
    if fail_on_breach and summary["breach"]:
        raise typer.Exit(3)


quarantine_app = typer.Typer(help="List quarantined files and load them again after a fix.", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")


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


@app.command()
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


@app.command()
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
    import polars as pl

    from storage.warm import open_warehouse

    if format not in {"auto", "table", "csv", "json"}:
        raise _fail(f"unknown format {format!r}: use auto, table, csv or json", 2)
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
        with pl.Config(tbl_rows=200, tbl_cols=30, fmt_str_lengths=80):
            out.print(str(frame), highlight=False)


@app.command()
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


@app.command()
def optimize(
    cutoff: Annotated[str | None, typer.Option(help="HH:MM UTC after which no new partition is started.")] = None,
) -> None:
    """OPTIMIZE ... FINAL the partitions that changed since they were last optimized (a rerun is a cheap no-op)."""
    _flow_settings()
    from flows.optimize import optimize as optimize_flow

    summary = _run_flow(optimize_flow, cutoff_utc=cutoff)
    out.print(
        f"[bold]optimize:[/] {summary['partitions_optimized']} of {summary['partitions_planned']} partitions, parts "
        f"{summary['parts_before']} -> {summary['parts_after']}, "
        f"rows {summary['rows_before']:,} -> {summary['rows_after']:,} "
        f"in {summary['seconds']} s ({summary['partitions_cut_off']} left for the cutoff)"
    )


@app.command()
def backup(
    full: Annotated[bool, typer.Option("--full", help="Start a new chain with a full snapshot.")] = False,
    verify: Annotated[bool, typer.Option(help="Run the restore drill after the snapshot.")] = True,
) -> None:
    """Take a native snapshot (incremental on the current chain unless a full is due), drill it, apply retention."""
    _flow_settings()
    from flows.backup import backup as backup_flow

    summary = _run_flow(backup_flow, full=full, verify=verify)
    snap, drill = summary["snapshot"], summary["drill"]
    out.print(
        f"[bold]backup:[/] {snap['kind']} {snap['name']} (base {snap['base']}: {snap['reason']}), "
        f"{snap['size_bytes']:,} bytes, {snap['rows']:,} rows; "
        f"drill: {drill['detail']}; deleted by retention: {', '.join(summary['deleted']) or 'nothing'}"
    )
    if summary.get("broken"):
        out.print(f"marked broken (data or base gone): {', '.join(summary['broken'])}")


backups_app = typer.Typer(help="List, verify and prune backup snapshots.", no_args_is_help=True)
app.add_typer(backups_app, name="backups")


@backups_app.command("list")
def backups_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every snapshot with its chain, base, size and verification."""
    import polars as pl

    from storage.backups.factory import backup_target, owner_of
    from storage.backups.snapshots import catalog, check_chains
    from storage.warm import open_warehouse

    settings = _settings()
    target = backup_target(settings)
    with open_warehouse(settings) as warehouse:
        check_chains(warehouse, target, owner_of(settings, target))  # a deleted base shows as broken, not verified
        frame = catalog(warehouse)
    if as_json:
        sys.stdout.write(json.dumps(frame.to_dicts(), default=str) + "\n")
        return
    with pl.Config(tbl_rows=500, tbl_cols=12, fmt_str_lengths=60, tbl_width_chars=200):
        out.print(
            str(frame.select("name", "kind", "base", "chain", "status", "size_bytes", "rows", "verified_at")),
            highlight=False,
        )


@backups_app.command("verify")
def backups_verify(
    name: Annotated[
        str | None, typer.Argument(help="Snapshot to drill (default: check every kept one, drill each chain's newest).")
    ] = None,
) -> None:
    """Restore snapshots into a scratch database and compare them with their fingerprints.

    Without a name every kept snapshot is checked structurally (data and base still there) and the newest of
    each chain is drilled (its restore reads every older member). Exit 1 when anything is broken or unverified.
    """
    from storage.backups.factory import backup_target, owner_of
    from storage.backups.snapshots import drill, verify_all
    from storage.warm import open_warehouse

    settings = _settings()
    target = backup_target(settings)
    try:
        with open_warehouse(settings) as warehouse:
            if name is not None:
                ok, detail = drill(warehouse, target, name, owner_of(settings, target))
                results = [{"name": name, "status": "verified" if ok else "unverified", "detail": detail}]
            else:
                results = verify_all(warehouse, target, owner_of(settings, target))
    except MarketopsError as exc:
        raise _fail(str(exc)) from exc
    if not results:
        raise _fail("there is no snapshot to verify")
    for item in results:
        colour = "green" if item["status"] in ("verified", "created") else "red"
        out.print(f"{item['name']}: [{colour}]{item['status']}[/] — {item['detail']}")
    bad = [r["name"] for r in results if r["status"] not in ("verified", "created")]
    if bad:
        raise _fail(f"{len(bad)} of {len(results)} snapshots are not restorable: {', '.join(bad)}")


@backups_app.command("prune")
def backups_prune(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be deleted.")] = False,
) -> None:
    """Delete whole chains past retention and every broken snapshot."""
    from datetime import UTC, datetime

    from storage.backups.factory import backup_target
    from storage.backups.snapshots import prune
    from storage.warm import open_warehouse

    settings = _settings()
    with open_warehouse(settings) as warehouse:
        plan = prune(
            warehouse,
            backup_target(settings),
            datetime.now(UTC),
            settings.backup_keep_days,
            settings.backup_min_chains,
            settings.backup_max_chains,
            dry_run,
        )
    verb = "would delete" if dry_run else "deleted"
    out.print(f"{verb}: {', '.join(r.name for r in plan.delete) or 'nothing'}; keeping {len(plan.keep)} snapshots")


@app.command()
def restore(
    name: Annotated[str, typer.Argument(help="Snapshot name (see `marketops backups list`).")],
    table: Annotated[list[str] | None, typer.Option("--table", help="Restore only this table (repeatable).")] = None,
    partition: Annotated[
        list[str] | None, typer.Option("--partition", help="Restore only this partition id, e.g. 202406 (repeatable).")
    ] = None,
    into: Annotated[str | None, typer.Option(help="Target database (default: a new restore_<name>).")] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace what the target already holds (moved aside to <target>_replaced_<time>)."
        ),
    ] = False,
    swap: Annotated[
        bool,
        typer.Option(
            "--swap",
            help="Put the restored data into the live tables: whole tables (EXCHANGE TABLES), or with --partition "
            "exactly those partitions (REPLACE PARTITION; the old ones are kept in <db>_replaced_<time>).",
        ),
    ] = False,
) -> None:
    """Restore a snapshot into a shadow database, and optionally swap it into place. Nothing is deleted: every
    replaced row is moved or copied aside, and the output says where."""
    from storage.backups.factory import backup_target, owner_of
    from storage.backups.restore import restore_snapshot
    from storage.warm import open_warehouse

    settings = _settings()
    target = backup_target(settings)
    try:
        with open_warehouse(settings) as warehouse:
            result = restore_snapshot(
                warehouse, target, name, table, partition, into, force, swap, owner_of(settings, target)
            )
    except MarketopsError as exc:
        raise _fail(str(exc)) from exc
    out.print(f"[bold]restore {name}[/]:")
    for change in result["changes"]:
        out.print(f"  - {change}", highlight=False)


@app.command()
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


@app.command()
def down() -> None:
    """Stop exactly the processes `marketops up` started and the background Prefect server (by recorded pids)."""
    from deployments.background_server import stop_server
    from deployments.local_stack import down as stack_down

    settings = load_settings()
    stopped = stack_down(settings) + stop_server(settings)
    out.print(f"stopped {len(stopped)} processes: {stopped}" if stopped else "the local stack was not running")


caches_app = typer.Typer(help="Build and verify the cold-tier Parquet caches.", no_args_is_help=True)
app.add_typer(caches_app, name="caches")


@caches_app.command("build")
def caches_build(
    since: Annotated[str | None, typer.Option(help="Rebuild every day from this date (YYYY-MM-DD) on.")] = None,
    full: Annotated[bool, typer.Option("--full", help="Rebuild every day of every symbol.")] = False,
) -> None:
    """Rebuild the cold files of the days whose bars changed since the last build."""
    since_day = _date(since, "--since")
    _flow_settings()
    from flows.caches import caches as caches_flow

    summary = _run_flow(caches_flow, full=full, since=since_day)
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


@app.command()
def warmup(
    check_only: Annotated[
        bool, typer.Option("--check-only", help="Only report whether the hot tier needs a rebuild (exit 1 if so).")
    ] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Write a new epoch even when nothing changed.")] = False,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair", help="What warmup-check does: rebuild a lost epoch, else update only symbols behind warm."
        ),
    ] = False,
) -> None:
    """Warm the hot tier from the warm tier as a new verified epoch (readers switch in one step).

    ``--check-only`` compares key counts and every symbol's newest bar (warm vs hot) and exits 1 on drift.
    """
    _flow_settings()
    from flows.warmup import warmup as warmup_flow

    mode = "check" if check_only else "auto" if repair else "force"
    result = _run_flow(warmup_flow, mode=mode, rebuild=rebuild)
    if result["status"] in {"checked", "repaired"} and not check_only:
        out.print(f"[bold]warmup:[/] {result['status']} — " + ("; ".join(result["problems"]) or "hot tier is current"))
        return
    if check_only:
        problems = result["problems"]
        out.print("hot tier is complete" if not problems else "hot tier needs a warmup: " + "; ".join(problems))
        if problems:
            raise typer.Exit(1)
        return
    out.print(
        f"[bold]warmup:[/] {result['status']} — epoch {result['epoch']}, {result['keys']:,} keys, "
        f"{result['bytes']:,} bytes "
        f"in {result['seconds']:.2f} s"
    )


hot_app = typer.Typer(help="Read the hot tier as a trading service would.", no_args_is_help=True)
app.add_typer(hot_app, name="hot")


@hot_app.command("get")
def hot_get(
    map_name: Annotated[
        str,
        typer.Argument(metavar="MAP", help="Logical map, e.g. bars_latest_1m or bars_recent_5m (or marketops_status)."),
    ],
    key: Annotated[str, typer.Argument(help="Key, e.g. binance:BTCUSDT (or epoch / last_warmup in marketops_status).")],
) -> None:
    """Print one value from the live epoch (exit 1 when absent)."""
    from core.hot_layout import STATUS_MAP, epoch_map
    from storage.hot import open_hot_store
    from storage.hot.epochs import current_epoch

    settings = _settings()
    with open_hot_store(settings) as hot:
        if map_name == STATUS_MAP:
            value = hot.get(map_name, key)
        else:
            epoch = current_epoch(hot)
            value = hot.get(epoch_map(map_name, epoch), key) if epoch else None
    if value is None:
        raise _fail(f"no value for {key!r} in {map_name}")
    sys.stdout.write(value + "\n")


def main() -> None:
    app()
