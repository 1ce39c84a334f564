"""The cold-store role, run against every implementation: a local directory and a bucket on a real S3-API server."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pyarrow.dataset as ds
import pytest

from core.errors import ConfigError
from core.settings import Settings
from storage.cold.base import ColdStore, glob_match
from storage.cold.factory import cold_store
from storage.cold.s3 import S3ColdStore
from storage.cold.store import LocalColdStore


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, settings: Settings) -> ColdStore:
    chosen = request.getfixturevalue("s3_settings") if request.param == "s3" else settings
    made = cold_store(chosen)
    assert isinstance(made, S3ColdStore if request.param == "s3" else LocalColdStore)
    return made


def test_a_written_file_reads_back_with_its_checksum(store: ColdStore) -> None:
    frame = pl.DataFrame({"x": list(range(1000)), "y": [0.5] * 1000})
    relative = "bars_1m/venue=binance/symbol=BTCUSDT/date=2024-06-03/data.parquet"
    digest = store.write_parquet(relative, frame)
    assert digest == hashlib.sha256(store.read_bytes(relative)).hexdigest()
    assert store.read_parquet(relative).equals(frame)
    assert store.exists(relative) and not store.exists("bars_1m/other.parquet")
    assert store.list() == [relative] and store.list("bars_1m/*/*/*/data.parquet") == [relative]
    assert store.list("bars_5m/**/data.parquet") == []
    # polars and pyarrow read the store's own addresses (object_store / the AWS SDK for s3://)
    assert pl.read_parquet(store.uri(relative), storage_options=store.storage_options()).equals(frame)


def test_a_rewrite_replaces_the_file_whole(store: ColdStore) -> None:
    store.write_bytes("_manifest/state.json", b'{"watermark": 1}')
    store.write_bytes("_manifest/state.json", b'{"watermark": 2}')
    assert store.read_bytes("_manifest/state.json") == b'{"watermark": 2}'
    assert store.list("**/*.json") == ["_manifest/state.json"]


def test_a_missing_file_raises_file_not_found(store: ColdStore) -> None:
    with pytest.raises(FileNotFoundError):
        store.read_bytes("nothing/here.parquet")


def test_a_failed_serialization_writes_nothing(store: ColdStore) -> None:
    with pytest.raises((TypeError, ValueError, pl.exceptions.PolarsError)):
        store.write_parquet("bad.parquet", pl.DataFrame({"x": [object()]}, schema={"x": pl.Object}))
    assert store.list() == [] and not store.exists("bad.parquet")


def test_cold_paths_cannot_escape_the_root(store: ColdStore) -> None:
    for bad in ("../../etc/passwd", "/abs.parquet", "a/../../b.parquet", ""):
        with pytest.raises(ConfigError):
            store.write_bytes(bad, b"x")


def test_glob_matching_follows_pathlib() -> None:
    assert glob_match("**/data.parquet", "data.parquet")
    assert glob_match("**/data.parquet", "a/b/c/data.parquet")
    assert glob_match("bars_1m/*/*/*/data.parquet", "bars_1m/venue=x/symbol=Y/date=2024-01-01/data.parquet")
    assert not glob_match("bars_1m/*/*/*/data.parquet", "bars_1m/venue=x/symbol=Y/data.parquet")
    assert not glob_match("*.parquet", "a/b.parquet")


def test_the_s3_store_reads_back_as_a_hive_dataset_through_pyarrow(s3_settings: Settings) -> None:
    store = cold_store(s3_settings)
    assert isinstance(store, S3ColdStore)
    for symbol in ("AAA", "BBB"):
        store.write_parquet(
            f"bars_1h/venue=v/symbol={symbol}/month=2024-06/data.parquet", pl.DataFrame({"close": [1.0, 2.0]})
        )
    table = ds.dataset(
        f"{store.bucket}/{store.prefix}/bars_1h", filesystem=store._fs, format="parquet", partitioning="hive"
    ).to_table()
    assert table.num_rows == 4 and sorted(set(table.column("symbol").to_pylist())) == ["AAA", "BBB"]


def test_s3_credentials_never_show(s3_settings: Settings) -> None:
    from tests.conftest import S3_TEST_SECRET

    store = cold_store(s3_settings)
    shown = " ".join([repr(store), store.location, str(store.describe()), repr(s3_settings)])
    assert S3_TEST_SECRET not in shown and store.location == s3_settings.cold_url


KILLED_UPLOAD = textwrap.dedent(
    """
    import os
    import numpy as np
    import polars as pl
    from core.settings import load_settings
    from storage.cold.factory import cold_store
    from storage.cold.base import parquet_bytes

    store = cold_store(load_settings())
    # ~16 MB of incompressible values: the half sent below exceeds one 5 MB part, so a multipart upload is open
    data = parquet_bytes(pl.DataFrame({"x": np.random.default_rng(7).random(2_000_000)}))
    stream = store._fs.open_output_stream(store._key("bars_1m/venue=v/symbol=S/date=2024-01-01/data.parquet"))
    stream.write(data[: len(data) // 2])  # half the object is on its way ...
    stream.flush()
    os._exit(9)  # ... when the writer is killed
    """
)


def test_an_upload_killed_half_way_leaves_no_object(s3_settings: Settings) -> None:
    child = subprocess.run(
        [sys.executable, "-c", KILLED_UPLOAD], capture_output=True, text=True, timeout=120, env=os.environ.copy()
    )
    assert child.returncode == 9, child.stderr[-2000:]
    assert cold_store(s3_settings).list("**/*") == []


def test_a_day_grouped_file_reads_back_identically_everywhere_with_ts_statistics_per_day(tmp_path: Path) -> None:
    """The day-grouped format (zstd, data pages v2, statistics on ts alone, no dictionary pages): polars, pyarrow
    and DuckDB read back exactly the frame written, one row group per day, and a ts filter can skip days."""
    import duckdb
    import numpy as np
    import pyarrow.parquet as pq

    from core.cache_plan import day_rows
    from storage.cold.base import parquet_bytes_by_day

    rng = np.random.default_rng(5)
    n = 3 * 1440 - 100  # a partial last day
    start = 1_717_200_000_000 - 1_717_200_000_000 % 86_400_000  # a UTC midnight, in ms
    frame = pl.DataFrame(
        {
            "ts": pl.Series(start + np.arange(n, dtype=np.int64) * 60_000).cast(pl.Datetime("ms", "UTC")),
            "close": 100 + rng.standard_normal(n).cumsum(),
            "trades": pl.Series(rng.integers(0, 50, n), dtype=pl.UInt32),
            "buy_volume": pl.Series([None if i % 7 else float(i) for i in range(n)], dtype=pl.Float64),
            "price_side": ["trade"] * (n - 5) + ["mid"] * 5,
        }
    )
    days = day_rows(frame)
    path = tmp_path / "data.parquet"
    path.write_bytes(parquet_bytes_by_day(frame, days))
    assert pl.read_parquet(path).equals(frame)
    via_pyarrow = pl.from_arrow(pq.read_table(path))
    assert isinstance(via_pyarrow, pl.DataFrame) and via_pyarrow.equals(frame)
    with duckdb.connect() as con:
        back = con.sql(f"SELECT * FROM read_parquet('{path}')").pl()
    assert back.with_columns(pl.col("ts").dt.convert_time_zone("UTC").dt.cast_time_unit("ms")).equals(frame)
    meta = pq.read_metadata(path)
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [rows for _, rows in days]
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        columns = {group.column(c).path_in_schema: group.column(c) for c in range(group.num_columns)}
        assert columns["ts"].is_stats_set and columns["ts"].statistics.has_min_max  # days are skipped by ts
        assert not any(columns[c].is_stats_set for c in columns if c != "ts")
        assert all(c.compression == "ZSTD" for c in columns.values())
        assert all(
            "PLAIN_DICTIONARY" not in c.encodings and "RLE_DICTIONARY" not in c.encodings for c in columns.values()
        )
    second = days[1][0]
    assert pl.scan_parquet(path).filter(pl.col("ts").dt.date() == second).collect().height == 1440
