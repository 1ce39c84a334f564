"""Reports on disk: ``latest.html`` is the latest daily run; plotly.js is written once beside the reports."""

from __future__ import annotations

import os
from pathlib import Path

from storage.reports import INDEX, LATEST, ensure_asset, read_index, write_report
from validation.report import plotly_asset, render_index


def _entry(first: str, last: str, at: str) -> dict[str, object]:
    return {
        "first": first,
        "last": last,
        "state": "ok",
        "headline": f"{first}..{last}",
        "generated_at": at,
        "run_id": at,
        "pass_rate_files": 0.99,
        "pass_rate_rows": 0.999999,
        "pass_rate_symbol_days": 1.0,
        "expectations_failed": 1,
    }


def test_latest_is_the_newest_daily_run_not_a_backfill_or_an_old_day(tmp_path: Path) -> None:
    write_report(tmp_path, "d1.html", "day 1", _entry("2024-06-01", "2024-06-01", "2024-06-02T00:40"), render_index)
    write_report(tmp_path, "big.html", "10y", _entry("2014-06-02", "2024-06-02", "2024-06-02T05:00"), render_index)
    assert (tmp_path / LATEST).read_text() == "day 1"  # a 10-year range ending later is not the daily run
    write_report(tmp_path, "old.html", "1970", _entry("1970-01-01", "1970-01-01", "2024-06-02T06:00"), render_index)
    assert (tmp_path / LATEST).read_text() == "day 1"  # re-validating an old day does not replace it
    write_report(tmp_path, "d2.html", "day 2", _entry("2024-06-02", "2024-06-02", "2024-06-03T00:40"), render_index)
    assert (tmp_path / LATEST).read_text() == "day 2"
    assert len(read_index(tmp_path)) == 4
    index = (tmp_path / INDEX).read_text()
    # every run listed with its pass rates; a loss never rounds to 100%
    assert all(f'href="{n}"' in index for n in ("d1.html", "big.html", "old.html", "d2.html"))
    assert "99.000%" in index and "99.9999%" in index and "100.000%" not in index and "<td>100%</td>" in index


def test_plotly_is_copied_once_and_left_alone_afterwards(tmp_path: Path) -> None:
    href, source = plotly_asset()
    first = ensure_asset(tmp_path, href, source)
    assert first.read_bytes() == source.read_bytes() and href.startswith("assets/plotly-")
    os.utime(first, (0, 0))
    again = ensure_asset(tmp_path, href, source)
    assert again == first and again.stat().st_mtime == 0  # not rewritten for the next report
    assert [p.name for p in (tmp_path / "assets").iterdir()] == [Path(href).name]
