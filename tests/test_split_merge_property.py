"""Property: however a vendor splits or merges the same minutes into files (with identical overlaps),
``bars_1m FINAL`` holds the same bars. Runs the real load path (read -> judge -> chDB) per example."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from core.parse import ReadOptions
from core.settings import Settings, load_settings
from storage.warm import open_warehouse
from storage.warm.schema import migrate
from tests.hostile import klines

START = 1_704_153_600_000  # 2024-01-02T00:00Z


def _load(settings: Settings, landing: Path, copies: int = 0) -> pl.DataFrame:
    """Load ``landing``; ``copies`` of its files repeat another's bytes exactly (those settle as ``duplicate``)."""
    from tasks.ingest import load_batch, plan_ingest

    with open_warehouse(settings) as warehouse:
        migrate(warehouse)
    plan = plan_ingest.fn(settings, [str(landing)], ReadOptions())
    statuses: list[str] = []
    for batch in plan.batches:
        outcomes = load_batch.fn(settings, batch, ReadOptions(), "prop")
        statuses += [str(o["status"]) for o in outcomes]
    assert sorted(statuses) == ["duplicate"] * copies + ["loaded"] * (len(statuses) - copies), statuses
    with open_warehouse(settings) as warehouse:
        return warehouse.query_df(
            "SELECT toString(venue) AS venue, symbol, ts, open, high, low, close, volume FROM bars_1m FINAL ORDER BY ts"
        )


@st.composite
def splits(draw: st.DrawFn) -> tuple[int, list[tuple[int, int]]]:
    """n minutes and the files that hold them: contiguous pieces covering all, each maybe overlapping the next."""
    n = draw(st.integers(min_value=2, max_value=240))
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=n - 1), max_size=5)))
    bounds = [0, *cuts, n]
    pieces = []
    for lo, hi in itertools.pairwise(bounds):
        extra = draw(st.integers(min_value=0, max_value=10))
        pieces.append((max(0, lo - draw(st.integers(0, 3))), min(n, hi + extra)))
    return n, pieces


@hsettings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(split=splits(), batch_files=st.integers(min_value=1, max_value=3))
def test_splitting_or_merging_files_never_changes_bars_final(
    split: tuple[int, list[tuple[int, int]]], batch_files: int, tmp_path: Path, settings: Settings
) -> None:
    n, pieces = split
    lines = klines(START, n)
    root = tmp_path / uuid.uuid4().hex
    merged, parts = root / "merged", root / "parts"
    merged.mkdir(parents=True)
    parts.mkdir()
    (merged / "BTCUSDT-1m-2024-01-02.csv").write_text("\n".join(lines) + "\n")
    for k, (lo, hi) in enumerate(pieces):
        (parts / f"BTCUSDT-1m-2024-01-02 part{k}.csv").write_text("\n".join(lines[lo:hi]) + "\n")
    whole = _load(load_settings(clickhouse_database=f"m_{uuid.uuid4().hex[:10]}"), merged)
    # the parts in batches of ``batch_files`` files: overlaps meet inside a batch and across batches
    split_settings = load_settings(clickhouse_database=f"s_{uuid.uuid4().hex[:10]}", ingest_batch_max_files=batch_files)
    assert whole.height == n
    assert _load(split_settings, parts, copies=len(pieces) - len(set(pieces))).equals(whole)
