"""``marketops warmup | hot get``: fill the hot tier from the warm tier and read it as a service would."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from marketops.cli.app import _fail, _flow_settings, _run_flow, _settings, out


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
