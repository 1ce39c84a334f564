"""Cluster mode (``MARKETOPS_CLICKHOUSE_CLUSTER``): the generated SQL, checked by ClickHouse's own parser.

No cluster (nor Keeper) runs here, so the cluster statements are generated and then parsed by the real
engine (``formatQuery`` in the embedded warehouse); the single-node path runs for real in the rest of
the suite, and here we prove it is exactly the statements as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from core.errors import ConfigError
from core.settings import Settings
from storage.warm import Warehouse, open_warehouse
from storage.warm.cluster import (
    backup_statement,
    for_cluster,
    optimize_statement,
    restore_statements,
    sharding_key,
)
from storage.warm.schema import MIGRATIONS, MIGRATIONS_DDL, migrate, statements

CLUSTER = "prod"


@pytest.fixture
def embedded(settings: Settings) -> Iterator[Warehouse]:
    with open_warehouse(settings.model_copy(update={"clickhouse_url": None})) as wh:
        yield wh


def _parses(warehouse: Warehouse, sql: str) -> str:
    return str(warehouse.query_scalar("SELECT formatQuery({q:String})", {"q": sql}))


def _all_cluster_sql() -> list[str]:
    return [sql for m in MIGRATIONS for sql in statements(m, "marketops", CLUSTER)] + for_cluster(
        MIGRATIONS_DDL, "marketops", CLUSTER
    )


def test_single_node_runs_the_statements_as_written(embedded: Warehouse) -> None:
    for migration in MIGRATIONS:
        assert statements(migration, "marketops", None) == list(migration.statements)
    assert embedded.cluster is None
    migrate(embedded)  # for real: the tables carry their plain names, no _local, no Distributed
    engines = dict(
        embedded.query_df("SELECT name, engine FROM system.tables WHERE database = currentDatabase()").iter_rows()
    )
    assert engines["bars_1m"] == "ReplacingMergeTree" and not any(n.endswith("_local") for n in engines)


def test_every_data_table_becomes_replicated_local_plus_distributed(embedded: Warehouse) -> None:
    sql = _all_cluster_sql()
    creates = [s for s in sql if re.match(r"\s*CREATE TABLE", s)]
    local = {m.group(1) for s in creates if (m := re.search(r"EXISTS (\w+)_local ON CLUSTER prod", s))}
    fronts = {m.group(1) for s in creates if (m := re.search(r"EXISTS marketops\.(\w+) ON CLUSTER prod", s))}
    assert local == fronts and {"bars_1m", "ingest_files", "anomalies", "symbol_days", "schema_migrations"} <= local
    assert all(" ON CLUSTER prod" in s for s in sql)
    bars = next(s for s in sql if "bars_1m_local ON CLUSTER" in s)
    assert (
        "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/bars_1m_local', '{replica}', version)"
        in bars
    )
    assert "replicated_deduplication_window = 10000" in bars and "non_replicated" not in bars
    log = next(s for s in sql if "optimize_log_local ON CLUSTER" in s)
    assert "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/optimize_log_local', '{replica}')" in log
    front = next(s for s in sql if "marketops.bars_1m ON CLUSTER" in s)
    assert front.endswith("ENGINE = Distributed(prod, marketops, bars_1m_local, cityHash64(venue, symbol))")
    for statement in sql:  # ClickHouse's parser accepts every one
        assert _parses(embedded, statement)


def test_column_changes_reach_both_tables_mutations_only_the_data() -> None:
    add = for_cluster("ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS x UInt8", "marketops", CLUSTER)
    assert add == [
        "ALTER TABLE anomalies_local ON CLUSTER prod ADD COLUMN IF NOT EXISTS x UInt8",
        "ALTER TABLE anomalies ON CLUSTER prod ADD COLUMN IF NOT EXISTS x UInt8",
    ]
    mutation = for_cluster("ALTER TABLE bars_1m DELETE WHERE version = 0", "marketops", CLUSTER)
    assert mutation == ["ALTER TABLE bars_1m_local ON CLUSTER prod DELETE WHERE version = 0"]
    assert for_cluster("DROP TABLE IF EXISTS runs", "marketops", CLUSTER) == [
        "DROP TABLE IF EXISTS runs ON CLUSTER prod SYNC",
        "DROP TABLE IF EXISTS runs_local ON CLUSTER prod SYNC",
    ]
    assert for_cluster("INSERT INTO runs SELECT * FROM runs", "marketops", CLUSTER) == [
        "INSERT INTO runs SELECT * FROM runs"
    ]
    with pytest.raises(ConfigError, match="no cluster rule"):
        for_cluster("RENAME TABLE a TO b", "marketops", CLUSTER)


def test_sharding_keeps_a_row_key_on_one_shard() -> None:
    bars = next(s for s in MIGRATIONS[0].statements if "bars_1m" in s)
    assert sharding_key(bars) == "cityHash64(venue, symbol)"  # a prefix of ORDER BY (venue, symbol, ts)
    table = "CREATE TABLE t (k String, ts Nullable(DateTime64(3)), x UInt8) ENGINE = MergeTree ORDER BY "
    assert sharding_key(table + "(k, ts, x)") == "cityHash64(k)"
    assert sharding_key(table + "(ts, x)") == "cityHash64(ts, x)"  # time first: the whole key
    assert sharding_key(table + "k") == "cityHash64(k)"
    assert sharding_key("CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY tuple()") == "rand()"


def test_maintenance_addresses_every_shard(embedded: Warehouse) -> None:
    optimize = optimize_statement("bars_1m", CLUSTER, partition=True, final=True)
    assert optimize == "OPTIMIZE TABLE bars_1m_local ON CLUSTER prod PARTITION ID {partition:String} FINAL"
    backup = backup_statement(
        "marketops", ["bars_1m", "runs"], CLUSTER, "Disk('backups', 'b2')", "Disk('backups', 'b1')"
    )
    assert backup == (
        "BACKUP TABLE marketops.bars_1m_local, TABLE marketops.runs_local ON CLUSTER prod TO Disk('backups', 'b2') "
        "SETTINGS base_backup = Disk('backups', 'b1')"
    )
    restore = restore_statements("marketops", ["bars_1m"], CLUSTER, "Disk('backups', 'b2')", "drill", ["202406"], True)
    assert restore == [
        "CREATE DATABASE IF NOT EXISTS drill ON CLUSTER prod",
        "RESTORE TABLE marketops.bars_1m_local AS drill.bars_1m_local PARTITIONS '202406' ON CLUSTER prod "
        "FROM Disk('backups', 'b2') SETTINGS allow_non_empty_tables = true",
        "CREATE TABLE IF NOT EXISTS drill.bars_1m ON CLUSTER prod AS drill.bars_1m_local "
        "ENGINE = Distributed(prod, drill, bars_1m_local)",
    ]
    for statement in [optimize.replace("{partition:String}", "'202406'"), backup, *restore]:
        assert _parses(embedded, statement)
    # single node: the same verbs, no ON CLUSTER, the plain table names (run for real across the suite)
    assert optimize_statement("bars_1m", None, partition=False, final=True) == "OPTIMIZE TABLE bars_1m FINAL"
    assert restore_statements("marketops", ["runs"], None, "File('/b')", "d", None, False) == [
        "RESTORE TABLE marketops.runs AS d.runs FROM File('/b')"
    ]


def test_a_cluster_needs_a_server(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="MARKETOPS_CLICKHOUSE_URL"):
        open_warehouse(settings.model_copy(update={"clickhouse_url": None, "clickhouse_cluster": CLUSTER}))
