"""The Great Expectations suite over a validate run's bars, with Data Docs a person can open.

It checks the contract-level rules GE can express (non-null prices, positive prices, non-negative
volume, high/low ordering, unique minutes); the catalogue checks more (gaps against calendars,
stale runs, spikes). Its Data Docs are linked from our report as an independent second opinion.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

SUITE = "bars_1m"
_PRICES = ("open", "high", "low", "close")


@dataclass(frozen=True)
class ExpectationsResult:
    success: bool
    evaluated: int
    failed: list[str]  # expectation types that failed, with their column(s)
    rows: int
    docs_index: Path | None  # Data Docs home page
    validation_page: Path | None  # this run's page in the Data Docs


def _suite(gx: Any) -> Any:
    e = gx.expectations
    suite = gx.ExpectationSuite(name=SUITE)
    for column in _PRICES:
        suite.add_expectation(e.ExpectColumnValuesToNotBeNull(column=column))
        suite.add_expectation(e.ExpectColumnValuesToBeBetween(column=column, min_value=0, strict_min=True))
    suite.add_expectation(e.ExpectColumnValuesToBeBetween(column="volume", min_value=0))
    suite.add_expectation(e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="high", column_B="low", or_equal=True))
    suite.add_expectation(e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="high", column_B="open", or_equal=True))
    suite.add_expectation(e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="high", column_B="close", or_equal=True))
    suite.add_expectation(e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="open", column_B="low", or_equal=True))
    suite.add_expectation(e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="close", column_B="low", or_equal=True))
    suite.add_expectation(e.ExpectCompoundColumnsToBeUnique(column_list=["venue", "symbol", "ts"]))
    return suite


def run_suite(bars: pl.DataFrame, project_dir: Path, run_name: str, build_docs: bool = True) -> ExpectationsResult:
    """Validate ``bars`` with the suite in a file-backed GE project under ``project_dir``; update its Data Docs."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx  # ~4 s to import: only when the suite runs

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    project_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(project_dir))
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # Progress bars would write hundreds of lines per run into the flow's log.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_or_update_pandas("marketops")
    asset = next((a for a in source.assets if a.name == "bars"), None) or source.add_dataframe_asset("bars")
    batch = next(
        (b for b in asset.batch_definitions if b.name == "run"), None
    ) or asset.add_batch_definition_whole_dataframe("run")
    suite = context.suites.add_or_update(_suite(gx))
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name="bars_run", data=batch, suite=suite)
    )
    from great_expectations.checkpoint.actions import UpdateDataDocsAction, ValidationAction

    actions: list[ValidationAction] = [UpdateDataDocsAction(name="docs")] if build_docs else []
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(name="validate", validation_definitions=[definition], actions=actions)
    )
    frame = bars.select("venue", "symbol", "ts", *_PRICES, "volume").to_pandas()
    result = checkpoint.run(
        batch_parameters={"dataframe": frame}, run_id=gx.core.run_identifier.RunIdentifier(run_name=run_name)
    )
    failed: list[str] = []
    evaluated = 0
    for validation in result.run_results.values():
        for r in validation.results:
            evaluated += 1
            if not r.success:
                config = r.expectation_config
                assert config is not None  # a result of a suite run always carries its expectation
                kwargs = config.kwargs
                where = (
                    kwargs.get("column")
                    or kwargs.get("column_list")
                    or f"{kwargs.get('column_A')}>={kwargs.get('column_B')}"
                )
                failed.append(f"{config.type}({where})")
    docs_root = project_dir / "gx" / "uncommitted" / "data_docs" / "local_site"
    pages = (
        sorted((docs_root / "validations").rglob("*.html"), key=lambda p: p.stat().st_mtime)
        if build_docs and docs_root.exists()
        else []
    )
    run_pages = [p for p in pages if run_name in str(p)] or pages[-1:]
    return ExpectationsResult(
        success=bool(result.success),
        evaluated=evaluated,
        failed=failed,
        rows=bars.height,
        docs_index=docs_root / "index.html" if build_docs and (docs_root / "index.html").exists() else None,
        validation_page=run_pages[-1] if run_pages else None,
    )
