"""The progress of a flow run from the command line: a rich bar with rows/s and an ETA on a terminal, one final
line per piece of work otherwise (a pipe, a CI log, ``--json``). Always on stderr, so stdout stays the result."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RowsPerSecond(ProgressColumn):
    """Rows done per second of the task so far (blank until rows are counted)."""

    def render(self, task: Task) -> Text:
        rows, elapsed = int(task.fields.get("rows", 0)), task.elapsed or 0.0
        return Text(f"{rows / elapsed:,.0f} rows/s" if rows and elapsed > 0 else "", style="progress.data.speed")


class ProgressDisplay:
    """A :class:`core.progress.ProgressSink` for the CLI: bars when ``live``, else a closing line per piece."""

    def __init__(self, console: Console, live: bool) -> None:
        self.console = console
        self.bars = (
            Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[unit]}"),
                RowsPerSecond(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=console,
            )
            if live
            else None
        )
        self._task: Any = None
        self._label, self._unit, self._total, self._done, self._rows, self._t0 = "", "", 0, 0, 0, 0.0

    def start(self, label: str, total: int, unit: str) -> None:
        self._label, self._unit, self._total, self._done, self._rows = label, unit, total, 0, 0
        self._t0 = time.monotonic()
        if self.bars is not None:
            self.bars.start()
            self._task = self.bars.add_task(label, total=total, unit=unit, rows=0)

    def advance(self, steps: int, rows: int = 0) -> None:
        self._done += steps
        self._rows += rows
        if self.bars is not None and self._task is not None:
            self.bars.update(self._task, completed=min(self._done, self._total), rows=self._rows)

    def finish(self) -> None:
        """Whatever was not counted (a failed batch, a skipped step) is over too: the bar ends at 100%."""
        if self.bars is not None and self._task is not None:
            self.bars.update(self._task, completed=self._total, rows=self._rows)
            self.bars.stop_task(self._task)
            self._task = None
            return
        seconds = time.monotonic() - self._t0
        rate = f" ({self._rows / seconds:,.0f} rows/s)" if self._rows and seconds > 0 else ""
        rows = f", {self._rows:,} rows" if self._rows else ""
        self.console.print(
            f"{self._label}: {self._total:,} {self._unit} done{rows} in {seconds:.1f} s{rate}", highlight=False
        )

    def close(self) -> None:
        if self.bars is not None:
            self.bars.stop()
