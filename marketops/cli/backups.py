"""``marketops backup | backups list/verify/prune | restore``: snapshots, their drills and restores."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from core.errors import MarketopsError
from marketops.cli.app import JsonOption, _fail, _flow_settings, _run_flow, _settings, emit_json, out
from marketops.cli.args import database_name, known_backup, known_tables, partition_ids
from marketops.cli.tables import frame_table, print_wide


def backup(
    full: Annotated[bool, typer.Option("--full", help="Start a new chain with a full snapshot.")] = False,
    verify: Annotated[bool, typer.Option(help="Run the restore drill after the snapshot.")] = True,
    as_json: JsonOption = False,
) -> None:
    """Take a native snapshot (incremental on the current chain unless a full is due), drill it, apply retention."""
    _flow_settings()
    from flows.backup import backup as backup_flow

    summary = _run_flow(backup_flow, progress_bar=not as_json, full=full, verify=verify)
    if as_json:
        emit_json(summary)
        return
    snap, drill = summary["snapshot"], summary["drill"]
    out.print(
        f"[bold]backup:[/] {snap['kind']} {snap['name']} (base {snap['base']}: {snap['reason']}), "
        f"{snap['size_bytes']:,} bytes, {snap['rows']:,} rows; "
        f"drill: {drill['detail']}; deleted by retention: {', '.join(summary['deleted']) or 'nothing'}"
    )
    if summary.get("broken"):
        out.print(f"marked broken (data or base gone): {', '.join(summary['broken'])}")


backups_app = typer.Typer(help="List, verify and prune backup snapshots.", no_args_is_help=True)


@backups_app.command("list")
def backups_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every snapshot with its chain, base, size and verification."""

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
    columns = ("name", "kind", "base", "chain", "status", "size_bytes", "rows", "verified_at")
    print_wide(out, frame_table(frame.select(columns)))


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
    from storage.backups.snapshots import catalog, drill, record, verify_all
    from storage.warm import open_warehouse

    settings = _settings()
    target = backup_target(settings)
    try:
        with open_warehouse(settings) as warehouse:
            if name is not None:
                known_backup(record(warehouse, name), name, catalog(warehouse).get_column("name").to_list())
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
    as_json: JsonOption = False,
) -> None:
    """Restore a snapshot into a shadow database, and optionally swap it into place. Nothing is deleted: every
    replaced row is moved or copied aside, and the output says where."""
    from storage.backups.factory import backup_target, owner_of
    from storage.backups.restore import restore_snapshot
    from storage.backups.snapshots import catalog, record
    from storage.warm import open_warehouse

    database_name(into, "--into")
    partition_ids(partition)
    settings = _settings()
    target = backup_target(settings)
    try:
        with open_warehouse(settings) as warehouse:
            row = known_backup(record(warehouse, name), name, catalog(warehouse).get_column("name").to_list())
            known_tables(table, list(row["tables"]), name)
            result = restore_snapshot(
                warehouse, target, name, table, partition, into, force, swap, owner_of(settings, target)
            )
    except MarketopsError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        emit_json(result)
        return
    out.print(f"[bold]restore {name}[/]:")
    for change in result["changes"]:
        out.print(f"  - {change}", highlight=False)
