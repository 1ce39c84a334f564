"""``marketops doctor``: Python, engines, settings, stores, the Prefect API and disk space, each with a fix hint."""

from __future__ import annotations

import typer
from rich.table import Table

from marketops.cli.app import JsonOption, emit_json, out
from marketops.cli.tables import print_wide

STYLE = {"OK": "green", "WARN": "yellow", "FAIL": "bold red"}


def doctor(as_json: JsonOption = False) -> None:
    """Check that this machine can run marketops; exit 1 when a check FAILs (WARN is fine, but read it)."""
    from marketops.doctor import FAIL, report, run_checks, worst

    checks = run_checks()
    if as_json:
        emit_json(report(checks))
    else:
        table = Table(title="marketops doctor", title_justify="left", header_style="bold")
        table.add_column("check", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("detail", overflow="fold")
        table.add_column("fix", overflow="fold")
        for check in checks:
            table.add_row(check.name, f"[{STYLE[check.status]}]{check.status}[/]", check.detail, check.fix)
        print_wide(out, table)
        failed = sum(c.status == FAIL for c in checks)
        out.print(f"{worst(checks)}: {len(checks)} checks, {failed} failed", highlight=False)
    if worst(checks) == FAIL:
        raise typer.Exit(1)
