"""``marketops``: run flows ad hoc, query the warm tier, report status. Exit 0 only on success, 2 on bad arguments.

One module per command group; this module registers them on the one Typer application, in the order ``--help``
lists them, and keeps the old import paths (``from marketops.cli import app, main, _run_flow``) working.
"""

from __future__ import annotations

from marketops.cli.app import _date, _fail, _flow_settings, _run_flow, _settings, app, console, out
from marketops.cli.backups import backup, backups_app, restore
from marketops.cli.caches import caches_app
from marketops.cli.doctor import doctor
from marketops.cli.hot import hot_app, warmup
from marketops.cli.ingest import ingest
from marketops.cli.quarantine import quarantine_app
from marketops.cli.stack import demo, down, init, up
from marketops.cli.validate import report, validate
from marketops.cli.warehouse import optimize, sql, status
from marketops.startup import begin_command, end_command

_COMMANDS = (init, ingest, demo, validate, report, sql, status, doctor, optimize, backup, restore, up, down, warmup)
for _command in _COMMANDS:
    app.command()(_command)
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(backups_app, name="backups")
app.add_typer(caches_app, name="caches")
app.add_typer(hot_app, name="hot")


def main() -> None:
    begin_command()  # the collector waits for the work (marketops.startup)
    try:
        app()
    finally:  # Typer ends every command with SystemExit
        end_command()


__all__ = ["_date", "_fail", "_flow_settings", "_run_flow", "_settings", "app", "console", "main", "out"]
