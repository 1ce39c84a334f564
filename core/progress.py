"""Progress of a long run, reported by the flow that does the work and shown by whoever started it.

A flow started by ``marketops ingest`` in a terminal shows a bar with rows/s and an ETA; the same flow run by a
Prefect worker reports to nobody (the default sink does nothing). The flow says how much there is, what each
finished step was worth, and when it is finished, so the bar always ends at 100% (a run that skipped or failed
some steps is still finished; its summary says what happened to them).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class ProgressSink(Protocol):
    def start(self, label: str, total: int, unit: str) -> None:
        """A new piece of work of ``total`` ``unit`` (files, symbols, symbol-days) begins."""

    def advance(self, steps: int, rows: int = 0) -> None:
        """``steps`` units are done, holding ``rows`` rows (for the rows/s rate)."""

    def finish(self) -> None:
        """The piece of work is over: whatever was not counted is done (failed or skipped) too."""


class _Nobody:
    def start(self, label: str, total: int, unit: str) -> None:
        pass

    def advance(self, steps: int, rows: int = 0) -> None:
        pass

    def finish(self) -> None:
        pass


_sinks: list[ProgressSink] = []


def current() -> ProgressSink:
    """The sink of the innermost :func:`reporting` block, or one that drops everything."""
    return _sinks[-1] if _sinks else _Nobody()


@contextmanager
def reporting(sink: ProgressSink) -> Iterator[ProgressSink]:
    """Send the progress of flows run inside this block (in this process) to ``sink``."""
    _sinks.append(sink)
    try:
        yield sink
    finally:
        _sinks.remove(sink)
