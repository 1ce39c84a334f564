"""How a command process spends its cyclic garbage collector.

A command imports Prefect, pydantic, polars, pandera and chDB — about 230,000 long-lived objects — and then does
its work. CPython's collector runs full passes over every object as the heap grows (4 passes while an ingest
imports) and once more when the interpreter ends, which cost an ad-hoc ingest 0.3-1 s without freeing anything:
the imports allocate nothing that dies. So a command starts with the collector off; when a flow starts its work
the import-time objects are frozen (never scanned again) and the collector comes back for the flow's own objects;
when the command ends, everything is frozen so the interpreter's last pass has nothing to scan (unless the command
used DuckDB, whose bindings report every object not freed at exit: see :func:`end_command`). Frozen objects are
still freed at exit as usual; only cycles among them are left to the OS, and every file and warehouse a command
opens is closed by its ``with`` block. Commands that run no flow are short and keep the collector off: their
cyclic garbage is reclaimed when the process ends.

Nothing happens unless :func:`begin_command` ran, so a process that only imports the CLI (the tests) keeps its
collector as it is.
"""

from __future__ import annotations

import gc
import sys

_command = False  # a command started in this process (begin_command ran)
_deferred = False  # True while this process's collector is off because a command started


def begin_command() -> None:
    """The entry point of a ``marketops`` process: no collection while it imports."""
    global _command, _deferred
    _command = True
    if gc.isenabled():
        gc.disable()
        _deferred = True


def begin_work() -> None:
    """A flow is about to run: what the command imported is frozen and the collector is back on."""
    global _deferred
    if _deferred:
        gc.freeze()
        gc.enable()
        _deferred = False


def end_command() -> None:
    """The command is done: nothing left for the interpreter's last collection to scan — unless DuckDB was loaded.

    DuckDB's bindings (nanobind) check at exit that every object they made was freed and print a page of
    "leaked instance" lines otherwise; objects frozen here (or by :func:`begin_work`) are left to the OS, so a
    command that used DuckDB (the cold tier: caches, the daily job) hands them back to the last collection."""
    if not _command:
        return
    if "duckdb" in sys.modules:
        gc.unfreeze()
    else:
        gc.freeze()
