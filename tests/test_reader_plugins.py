"""A team's own reader, shipped in its own distribution, found through the ``marketops.readers`` entry points.

The test builds a real wheel of a tiny plug-in package, installs it with pip into a target directory on the
test's ``sys.path`` (never into the shared environment) and ingests a file of the plug-in's format end to end.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from core.formats import ReaderOptions, SourceFile, read_bars
from core.formats.registry import ENTRY_POINT_GROUP, available_readers
from core.settings import Settings
from storage.warm import open_warehouse

PLUGIN_MODULE = textwrap.dedent(
    '''
    """PIPEBARS v1: a 'PIPEBARS v1 symbol S' line, then 'epoch_ms|open|high|low|close|volume' (UTC), venue pipex."""
    import io

    import polars as pl

    from core.formats.frame import conform
    from core.formats.protocol import ReadResult


    class PipeReader:
        name = "pipebars"
        description = "PIPEBARS v1 (a plug-in)"

        def sniff(self, head, name):
            return 0.99 if head.startswith("PIPEBARS v1") else 0.0

        def read(self, source, options):
            text = source.payload().decode()
            first, _, body = text.partition("\\n")
            frame = pl.read_csv(
                io.StringIO(body), separator="|", has_header=False,
                new_columns=["ms", "open", "high", "low", "close", "volume"],
            )
            frame = frame.with_columns(
                ts=pl.col("ms").cast(pl.Datetime("ms")).dt.replace_time_zone("UTC"),
                line=pl.int_range(2, pl.len() + 2),
            )
            return ReadResult(conform(frame), self.name, "explicit:UTC", "trade", "pipex", first.split()[-1])
    '''
)


def _wheel(tmp_path: Path) -> Path:
    """A minimal, valid wheel: the module plus dist-info with its entry point."""
    dist = "marketops_pipebars-0.1.0.dist-info"
    files = {
        "marketops_pipebars.py": PLUGIN_MODULE,
        f"{dist}/METADATA": "Metadata-Version: 2.1\nName: marketops-pipebars\nVersion: 0.1.0\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist}/entry_points.txt": f"[{ENTRY_POINT_GROUP}]\npipebars = marketops_pipebars:PipeReader\n",
        f"{dist}/top_level.txt": "marketops_pipebars\n",
    }
    record = "".join(f"{name},,\n" for name in files) + f"{dist}/RECORD,,\n"
    path = tmp_path / "marketops_pipebars-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        archive.writestr(f"{dist}/RECORD", record)
    return path


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "site"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--target",
            str(target),
            str(_wheel(tmp_path)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    monkeypatch.syspath_prepend(str(target))
    importlib.invalidate_caches()
    return target


BODY = "PIPEBARS v1 symbol FOOBAR\n1709287200000|1|2|0.5|1.5|10\n1709287260000|1.5|2.5|1|2|11\n"


def test_installed_plugin_is_detected_by_content(installed_plugin: Path) -> None:
    assert "pipebars" in [r.name for r in available_readers()]
    result = read_bars(SourceFile("anything.dat", BODY.encode()), ReaderOptions())
    assert (result.format, result.venue, result.symbol, result.frame.height) == ("pipebars", "pipex", "FOOBAR", 2)


def test_ingest_through_an_installed_plugin(installed_plugin: Path, settings: Settings, tmp_path: Path) -> None:
    from flows.ingest import ingest

    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "export-2024-03-01.txt").write_text(BODY)
    summary = ingest(paths=[str(landing)])
    assert (summary["files_loaded"], summary["rows_loaded"]) == (1, 2)
    with open_warehouse(settings) as warehouse:
        bars = warehouse.query_df("SELECT venue, symbol, toString(ts) AS ts, close FROM bars_1m FINAL ORDER BY ts")
        manifest = warehouse.query_df("SELECT format, zone_rule, price_side FROM ingest_files FINAL")
    assert bars.rows() == [
        ("pipex", "FOOBAR", "2024-03-01 10:00:00.000", 1.5),
        ("pipex", "FOOBAR", "2024-03-01 10:01:00.000", 2.0),
    ]
    assert manifest.rows() == [("pipebars", "explicit:UTC", "trade")]


def test_a_broken_plugin_is_skipped_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "broken"
    dist = site / "broken_reader-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-reader\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nbroken = no_such_module:Reader\n")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    names = [r.name for r in available_readers()]
    assert "generic" in names and "broken" not in names
