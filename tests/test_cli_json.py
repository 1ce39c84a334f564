"""``--json``: ingest, validate, caches build, backup and restore print one JSON object on stdout and nothing else,
and the outcome categories in it add up to their totals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from core.proportions import OTHER
from core.samples import InjectionManifest, SampleSpec, generate
from core.settings import Settings
from marketops.cli import app
from storage.backups.restore import shadow_database
from storage.landing import write_file

runner = CliRunner()


def _json(args: list[str]) -> dict[str, Any]:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout  # one object, no progress, no log line
    parsed = json.loads(lines[0])
    assert isinstance(parsed, dict)
    return parsed


@pytest.mark.usefixtures("prefect_api")
def test_json_summaries_parse_and_add_up(settings: Settings, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    manifest = InjectionManifest()
    for sample in generate(SampleSpec(symbols=2, days=2, seed=7), manifest):
        write_file(landing, sample.relative_path, sample.data)

    ingested = _json(["ingest", str(landing), "--json"])
    assert ingested["files_seen"] == 4 and ingested["ok"] is True
    assert sum(ingested["file_outcomes"].values()) == ingested["files_processed"] == 4
    assert sum(ingested["row_outcomes"].values()) == ingested["rows_read"]
    assert OTHER not in ingested["file_outcomes"] and OTHER not in ingested["row_outcomes"]
    assert ingested["rows_quarantined"] == manifest.as_dict()["expected_rows_quarantined"]

    checked = _json(["validate", "--since", "2024-06-03", "--until", "2024-06-04", "--no-report", "--json"])
    assert checked["first"] == "2024-06-03" and checked["state"] in {"ok", "breach"}
    for total, parts in (
        ("files_checked", "file_outcomes"),
        ("rows_checked", "row_outcomes"),
        ("symbol_days", "symbol_day_outcomes"),
    ):
        assert sum(checked[parts].values()) == checked[total] > 0, parts
        assert OTHER not in checked[parts]

    cached = _json(["caches", "build", "--json"])
    assert cached["files_written"] > 0 and cached["rows_written"] > 0

    # --no-verify: the drill is tested in test_backup_safety; here only the JSON shape matters (and the drill of the
    # `runs` table can race a background merge on a loaded machine, see the branch report)
    backed = _json(["backup", "--no-verify", "--json"])
    name = backed["snapshot"]["name"]
    assert backed["drill"] == {"verified": None, "detail": "skipped"}

    restored = _json(["restore", name, "--table", "bars_1m", "--json"])
    assert restored["backup"] == name and restored["into"] == shadow_database(name)
    assert restored["tables"]["bars_1m"] == ingested["rows_loaded"]
