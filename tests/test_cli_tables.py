"""`sql --format table`, `backups list` and `status` print tables people can read off a terminal: one line per row,
no cell cut to ~10 characters or ellipsised."""

from __future__ import annotations

from typer.testing import CliRunner

from core.settings import Settings
from marketops.cli import app
from marketops.cli.tables import MIN_WIDTH

runner = CliRunner()

QUERY = (
    "SELECT 'binance' AS venue, toDateTime64('2024-06-03 00:00:00', 3, 'UTC') + number * 60 AS ts, "
    "toUInt64(15906853658203838139) AS source_id, 59997.6069651 + number AS open, "
    "repeat('x', 200) AS long_text, number FROM numbers(3)"
)


def test_sql_table_keeps_every_row_on_one_line_at_its_natural_width(settings: Settings) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["sql", QUERY, "--format", "table"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3 + 4  # top rule, header, header rule, 3 rows, bottom rule
    rows = [line for line in lines if "binance" in line]
    for minute, line in enumerate(rows):
        assert f"2024-06-03T00:0{minute}:00+00:00" in line and "15906853658203838139" in line
        assert f"{59997.6069651 + minute}" in line and "x" * 200 in line
    assert "…" not in result.stdout
    assert len(lines[0]) > MIN_WIDTH  # wider than the minimum because the content is


def test_a_narrow_result_is_not_stretched_and_status_cuts_nothing(settings: Settings) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    small = runner.invoke(app, ["sql", "SELECT 1 AS a, 'b' AS b", "--format", "table"])
    assert small.exit_code == 0 and max(len(line) for line in small.stdout.splitlines()) < 20
    status = runner.invoke(app, ["status"])
    assert "…" not in status.stdout
    assert str(settings.home_dir) in status.stdout
