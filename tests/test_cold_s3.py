"""The caches flow with the cold tier on object storage (a real S3-API server on 127.0.0.1)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from core.samples import SampleSpec, generate
from core.settings import Settings
from storage.cold.base import parquet_bytes
from storage.cold.factory import cold_store
from storage.cold.manifest import read_manifest, read_state, verify
from storage.landing import write_file
from storage.warm import open_warehouse
from tests.conftest import S3_TEST_SECRET

pytestmark = pytest.mark.usefixtures("prefect_api")


def _land(settings: Settings, spec: SampleSpec) -> Path:
    for sample in generate(spec):
        write_file(settings.default_landing_dir, sample.relative_path, sample.data)
    return settings.default_landing_dir


def test_caches_build_and_verify_against_object_storage(s3_settings: Settings) -> None:
    from typer.testing import CliRunner

    from flows.ingest import ingest
    from marketops.cli import app

    _land(s3_settings, SampleSpec(symbols=2, days=2, inject=False, fx_share=0))
    ingest()
    runner = CliRunner()
    built = runner.invoke(app, ["caches", "build"])
    assert built.exit_code == 0, built.output
    assert "DuckDB catalog not built" in " ".join(built.output.split())  # said plainly, not failed
    store = cold_store(s3_settings)
    manifest = read_manifest(store)
    assert manifest.height > 0 and set(store.list("**/data.parquet")) == set(manifest["path"])
    assert read_state(store)["watermark"] > 0
    assert not (s3_settings.cold_dir).exists()  # nothing went to the local directory

    # polars reads the whole dataset straight from the bucket and it equals the warm tier
    cached = pl.read_parquet(
        store.uri("bars_1m/*/*/*/data.parquet").replace("/*/*/*/", "/**/"),
        storage_options=store.storage_options(),
        hive_partitioning=True,
    )
    with open_warehouse(s3_settings) as warehouse:
        warm = warehouse.query_df("SELECT symbol, ts, close FROM bars_1m FINAL ORDER BY symbol, ts")
    assert cached.select("symbol", "ts", "close").sort("symbol", "ts").equals(warm)

    clean = runner.invoke(app, ["caches", "verify"])
    assert clean.exit_code == 0 and "match the manifest" in clean.output
    victim = store.list("bars_5m/**/data.parquet")[0]
    store.write_bytes(victim, parquet_bytes(store.read_parquet(victim).with_columns(pl.col("close") * 1.0001)))
    store.write_bytes("bars_1m/venue=x/symbol=Y/date=2024-01-01/data.parquet", b"stray")
    tampered = runner.invoke(app, ["caches", "verify"])
    assert tampered.exit_code == 1 and victim in tampered.output and "sha256" in tampered.output
    assert "not in the manifest" in tampered.output

    status = runner.invoke(app, ["status", "--json"])
    assert status.exit_code == 0 and str(s3_settings.cold_url) in status.output
    for output in (built.output, clean.output, tampered.output, status.output):
        assert S3_TEST_SECRET not in output


KILLED_BUILD = textwrap.dedent(
    """
    import os
    from datetime import UTC, datetime
    from storage.cold.s3 import S3ColdStore
    from core.settings import load_settings
    from tasks.caches import build_symbol_caches, plan_caches

    written = []

    def upload_then_die(self, relative, data, durable=True):
        if written:  # the first file landed whole; the second is cut off half-way through its upload
            stream = self._fs.open_output_stream(self._key(relative))
            stream.write(data[: len(data) // 2])
            os._exit(9)
        written.append(relative)
        return real(self, relative, data, durable)

    real = S3ColdStore.write_bytes
    S3ColdStore.write_bytes = upload_then_die
    settings = load_settings()
    plan = plan_caches.fn(settings, True, None)
    batch = plan["batches"][0]
    build_symbol_caches.fn(
        settings, batch["venue"], batch["symbol"], batch["days"], plan["watermark"], datetime.now(UTC)
    )
    """
)


def test_a_killed_build_leaves_nothing_half_visible_on_object_storage(s3_settings: Settings) -> None:
    from flows.caches import caches
    from flows.ingest import ingest

    _land(s3_settings, SampleSpec(symbols=1, days=1, inject=False, fx_share=0))
    ingest()
    child = subprocess.run(
        [sys.executable, "-c", KILLED_BUILD], capture_output=True, text=True, timeout=300, env=os.environ.copy()
    )
    assert child.returncode == 9, child.stderr[-2000:]
    store = cold_store(s3_settings)
    visible = store.list("**/*")
    assert len(visible) == 1 and read_manifest(store).height == 0  # one whole file, no manifest yet
    assert store.read_parquet(visible[0]).height > 0  # ... and that one is a complete Parquet file
    caches()
    assert verify(store) == [] and read_manifest(store).height > 0  # the next build is whole
