"""MARKETOPS_TASK_RUNNER=dask: ingest, validate and caches through a real 2-process Dask LocalCluster
give exactly what the thread runner gives, with the embedded warehouse loaded by the flow process."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from polars.testing import assert_frame_equal

from core.samples import InjectionManifest, SampleSpec, generate
from core.settings import Settings, load_settings
from flows.runners import SettingsTaskRunner, build_task_runner, warehouse_in_flow
from storage.cold.factory import cold_store
from storage.cold.manifest import read_manifest, verify
from storage.landing import write_file
from storage.warm import open_warehouse

pytestmark = pytest.mark.usefixtures("prefect_api")

# Everything a run writes except what differs by construction between two runs (run ids, load times, versions).
BARS_HASH = "SELECT count() AS n, sum(cityHash64(*)) AS h FROM (SELECT * EXCEPT (version) FROM bars_1m FINAL)"
QUARANTINE = (
    "SELECT venue, symbol, ts, open, high, low, close, volume, source_id, line, raw, checks, detail "
    "FROM quarantine_bars FINAL ORDER BY source_id, line, ts"
)
ANOMALIES = (
    "SELECT venue, symbol, ts, check, severity, detail, source_id, line FROM anomalies FINAL "
    "ORDER BY venue, symbol, ts, check, source_id, line, detail"
)
FILES = (
    "SELECT path, status, rows_read, rows_loaded, rows_quarantined, rows_duplicate, reasons "
    "FROM ingest_files FINAL ORDER BY path"
)


def _run_everything(home: Path, landing: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    monkeypatch.setenv("MARKETOPS_HOME", str(home))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    from flows.caches import caches
    from flows.ingest import ingest
    from flows.validate import validate

    settings = load_settings()
    ingested = ingest(paths=[str(landing)])
    with open_warehouse(settings) as warehouse:
        first, last = warehouse.query_df("SELECT min(ts)::Date AS a, max(ts)::Date AS b FROM bars_1m").row(0)
    validated = validate(since=first, until=last + timedelta(days=1), report=False)
    cached = caches(full=True)
    with open_warehouse(settings) as warehouse:
        tables = {
            "bars": warehouse.query_df(BARS_HASH),
            "quarantine": warehouse.query_df(QUARANTINE),
            "anomalies": warehouse.query_df(ANOMALIES),
            "files": warehouse.query_df(FILES),
        }
    store = cold_store(settings)
    manifest = read_manifest(store).select("path", "rows").sort("path")
    return {
        "settings": settings,
        "ingest": ingested,
        "validate": {k: validated[k] for k in ("files_checked", "rows_checked", "anomalies_by_check", "symbol_days")},
        "caches": {k: cached[k] for k in ("symbols", "days", "files_written", "rows_written")},
        "tables": tables,
        "manifest": manifest,
        "verify": verify(store),
    }


def test_a_two_process_dask_cluster_gives_what_the_thread_runner_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = tmp_path / "landing"  # one landing for both runs: source ids hash the file path
    planted = InjectionManifest()
    for sample in generate(SampleSpec(symbols=3, days=2), planted):
        write_file(landing, sample.relative_path, sample.data)
    monkeypatch.setenv("MARKETOPS_CHDB_LOCK_TIMEOUT_S", "5")
    monkeypatch.setenv("MARKETOPS_INGEST_BATCH_MAX_FILES", "2")  # several batches, so both workers get some

    threads = _run_everything(tmp_path / "threads", landing, monkeypatch, MARKETOPS_TASK_RUNNER="thread")
    dask = _run_everything(
        tmp_path / "dask", landing, monkeypatch, MARKETOPS_TASK_RUNNER="dask", MARKETOPS_DASK_WORKERS="2"
    )
    assert warehouse_in_flow(dask["settings"]) and not warehouse_in_flow(threads["settings"])

    expected = planted.as_dict()
    assert threads["ingest"]["rows_quarantined"] == expected["expected_rows_quarantined"] > 0
    assert threads["ingest"] == dask["ingest"]
    for name, frame in threads["tables"].items():
        assert frame.height > 0, name
        assert frame.equals(dask["tables"][name]), name  # same bars_1m FINAL hash, same quarantine and anomalies
    assert threads["validate"] == dask["validate"]
    assert threads["caches"] == dask["caches"] and threads["caches"]["files_written"] > 0
    assert threads["manifest"].select("path", "rows").equals(dask["manifest"].select("path", "rows"))
    for path in threads["manifest"]["path"]:  # same files, same values; float sums (volume, vwap of resampled bars)
        # can differ in the last bits (polars' parallel group-by adds floats in chunk/scheduling order),
        # so the manifest's sha256 is not compared across the two builds
        assert_frame_equal(
            cold_store(threads["settings"]).read_parquet(path),
            cold_store(dask["settings"]).read_parquet(path),
            check_exact=False,
            rel_tol=1e-9,
        )
    assert threads["verify"] == dask["verify"] == []


def test_the_runner_follows_the_settings(settings: Settings) -> None:
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    assert isinstance(build_task_runner(settings, 4), ThreadPoolTaskRunner)
    local = build_task_runner(settings.model_copy(update={"task_runner": "dask", "dask_workers": 3}), 4)
    assert isinstance(local, DaskTaskRunner) and local.cluster_kwargs["n_workers"] == 3
    remote = build_task_runner(
        settings.model_copy(update={"task_runner": "dask", "dask_address": "tcp://10.0.0.9:8786"}), 4
    )
    assert isinstance(remote, DaskTaskRunner) and remote.address == "tcp://10.0.0.9:8786"
    server = settings.model_copy(update={"task_runner": "dask", "clickhouse_url": "http://ch:8123"})
    assert not warehouse_in_flow(server)  # a server warehouse is loaded by the workers themselves
    assert SettingsTaskRunner(8).duplicate() == SettingsTaskRunner(8)


def test_the_cpu_part_of_ingest_is_a_plain_function_whose_result_crosses_processes(
    settings: Settings, tmp_path: Path
) -> None:
    import pickle

    from core.batching import plan_batches
    from core.parse import ReadOptions
    from storage.landing import list_files
    from tasks.ingest import parse_batch_files

    landing = tmp_path / "in"
    for sample in generate(SampleSpec(symbols=1, days=1, inject=False, fx_share=0)):
        write_file(landing, sample.relative_path, sample.data)
    (batch,) = plan_batches(list_files([landing]), 10)
    parsed = pickle.loads(pickle.dumps(parse_batch_files(settings, batch, ReadOptions(), frozenset())))
    assert [p.ref.path for p in parsed.parsed] == [f.path for f in batch.files] and not parsed.outcomes
    (only,) = parsed.parsed
    assert only.raw is not None and only.raw.height == 1440 and only.reason is None
    settled = frozenset((ref.path, sha) for ref, sha in parsed.read)
    again = parse_batch_files(settings, batch, ReadOptions(), settled)
    assert again.parsed == [] and again.read == parsed.read  # settled versions are hashed, not parsed


def test_the_split_ingest_gives_what_load_batch_gives_for_copies_new_versions_and_touched_files(
    settings: Settings, tmp_path: Path
) -> None:
    """The Dask split (parse on a worker, judge and load in the flow) against main's ``load_batch`` step for
    step, on two databases: a copy of settled bytes, a new version of a path, an unchanged file touched."""
    import os
    import pickle

    from core.batching import plan_batches
    from core.parse import ReadOptions
    from storage.landing import list_files
    from tasks.ingest import load_batch, parse_batch_files, settled_in_batch, settled_versions_of, store_parsed_batch
    from tasks.setup import ensure_schema

    landing = tmp_path / "in"
    (sample,) = list(generate(SampleSpec(symbols=1, days=1, inject=False, fx_share=0)))
    original = write_file(landing, sample.relative_path, sample.data)
    split = settings.model_copy(update={"clickhouse_database": settings.clickhouse_database + "_split"})
    options = ReadOptions()
    for each in (settings, split):
        ensure_schema.fn(each)

    def both(reprocess: bool = False) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        (batch,) = plan_batches(list_files([landing]), 10)
        threads = load_batch.fn(settings, batch, options, "run", reprocess)
        previous = settled_in_batch.fn(split, batch)
        parsed = pickle.loads(
            pickle.dumps(parse_batch_files(split, batch, options, settled_versions_of(previous, reprocess)))
        )
        dask = store_parsed_batch.fn(split, parsed, previous, options, "run", reprocess)
        key = lambda row: str(row["path"])  # noqa: E731
        return sorted(threads, key=key), sorted(dask, key=key)

    steps = []
    steps.append(both())  # first load
    copy = landing / "copy" / Path(sample.relative_path).name
    copy.parent.mkdir(parents=True)
    copy.write_bytes(Path(original).read_bytes())
    steps.append(both())  # the copy is a duplicate naming the original; the original is touched, not re-judged
    lines = Path(original).read_text().splitlines(keepends=True)
    Path(original).write_text("".join(lines[:-1]))  # a new version of the path supersedes the old one
    steps.append(both())
    stat = os.stat(original)
    os.utime(original, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    steps.append(both())  # same bytes, new mtime: touched
    steps.append(both(reprocess=True))
    for threads, dask in steps:
        assert [{k: v for k, v in row.items() if k != "reasons"} for row in threads] == [
            {k: v for k, v in row.items() if k != "reasons"} for row in dask
        ]
        assert [r["reasons"] for r in threads] == [r["reasons"] for r in dask]
    statuses = [sorted(str(r["status"]) for r in threads) for threads, _ in steps]
    assert statuses[0] == ["loaded"] and "duplicate" in statuses[1] and "unchanged" in statuses[3]
    with open_warehouse(settings) as warehouse:
        a = [warehouse.query_df(BARS_HASH), warehouse.query_df(QUARANTINE), warehouse.query_df(FILES)]
    with open_warehouse(split) as warehouse:
        b = [warehouse.query_df(BARS_HASH), warehouse.query_df(QUARANTINE), warehouse.query_df(FILES)]
    for left, right in zip(a, b, strict=True):
        assert_frame_equal(left, right)
