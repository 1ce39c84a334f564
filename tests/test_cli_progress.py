"""Progress of long runs: a bar that ends at 100% with rows/s on a terminal, one closing line elsewhere."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from core import progress
from core.samples import SampleSpec, generate
from core.settings import Settings
from marketops.cli import app
from marketops.cli.progress import ProgressDisplay
from storage.landing import write_file


def test_the_bar_ends_at_100_percent_even_when_steps_were_not_counted() -> None:
    """The old per-batch log stopped at 588/600; finish() completes the bar whatever was counted."""
    screen = io.StringIO()
    display = ProgressDisplay(Console(file=screen, force_terminal=True, width=160), live=True)
    display.start("ingest", 600, "files")
    display.advance(588, rows=1_000_000)
    display.finish()
    display.close()
    assert display.bars is not None
    (task,) = display.bars.tasks
    assert (task.completed, task.total, task.finished) == (600, 600, True)
    assert "600/600" in screen.getvalue() and "rows/s" in screen.getvalue()


def test_off_a_terminal_there_is_one_closing_line() -> None:
    screen = io.StringIO()
    display = ProgressDisplay(Console(file=screen, width=160), live=False)
    with progress.reporting(display):
        progress.current().start("caches", 12, "symbol-days")
        progress.current().advance(5, rows=7_200)
        progress.current().finish()
    assert screen.getvalue().startswith("caches: 12 symbol-days done, 7,200 rows in ")
    assert "rows/s" in screen.getvalue() and screen.getvalue().count("\n") == 1
    progress.current().advance(1)  # outside the block: reported to nobody, no error


@pytest.mark.usefixtures("prefect_api")
def test_ingest_reports_its_progress_on_stderr_and_keeps_stdout_for_the_result(
    settings: Settings, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    for sample in generate(SampleSpec(symbols=2, days=2, seed=3, inject=False)):
        write_file(landing, sample.relative_path, sample.data)
    result = CliRunner().invoke(app, ["ingest", str(landing), "--json"])
    assert result.exit_code == 0, result.output
    assert "files done" not in result.stdout
    assert "ingest: 4 files done, " in result.stderr and "rows/s" in result.stderr
