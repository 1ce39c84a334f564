"""The Typer application and what every command group shares: settings and the Prefect API, running a flow
in-process with its final state as the exit code, errors and date arguments. Exit 0 only on success."""

from __future__ import annotations

import json
import os
import signal
import sys
from datetime import date
from typing import Annotated, Any

import typer
from rich.console import Console

from core.settings import Settings, load_settings
from marketops.cli.tables import console_width
from marketops.prefect_env import configure_prefect, foreground_run
from marketops.startup import begin_work

app = typer.Typer(
    help="marketops: keep the hot, warm and cold market-data tiers fed, correct and recoverable.", no_args_is_help=True
)
console = Console(stderr=True, soft_wrap=True, width=console_width(sys.stderr))
out = Console(soft_wrap=True, width=console_width(sys.stdout))

JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print the run summary as one JSON object on stdout; logs and progress go to stderr."),
]


def emit_json(value: Any) -> None:
    """One JSON document and a newline on stdout, nothing else (``| jq`` reads it)."""
    sys.stdout.write(json.dumps(value, default=str) + "\n")
    sys.stdout.flush()


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


def _run_flow(flow_fn: Any, progress_bar: bool = True, **params: Any) -> dict[str, Any]:
    """Run a flow in-process; its final state decides the exit code, not the absence of exceptions.

    SIGTERM, SIGINT and a closed terminal (SIGHUP) stop the run cleanly: the flow unwinds as crashed (its
    on-crashed hooks alert and record it), then the process exits at once with 128 + the signal, so no worker
    thread can keep it, or the warehouse lock it holds, alive. A SIGKILL is settled by the next run through
    the run lease.

    Progress goes to stderr: a live bar on a terminal unless ``progress_bar`` is off (``--json``), else one
    closing line per piece of work."""
    import threading

    from prefect.exceptions import TerminationSignal

    stops = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, _stop) for sig in stops} if main else {}
    from core.progress import reporting
    from marketops.cli.progress import ProgressDisplay

    shown = ProgressDisplay(console, live=progress_bar and console.is_terminal)
    begin_work()
    try:
        with reporting(shown), foreground_run():
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
        shown.close()
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


def _date(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise _fail(f"{flag} {value!r} is not a date (YYYY-MM-DD)", 2) from exc
