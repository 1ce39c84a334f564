"""Versioned, idempotent DDL for the warm tier (ARCHITECTURE §3).

Every statement is ``IF NOT EXISTS``, and a migration is recorded only after its statements ran,
so a crash mid-migration is repaired by running ``marketops init`` again. Statements are written for
one node; on a cluster :func:`storage.warm.cluster.for_cluster` turns each into its ``ON CLUSTER``
form (Replicated ``<t>_local`` tables behind a Distributed ``<t>``), see :func:`statements`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa

from storage.warm.base import Warehouse
from storage.warm.cluster import for_cluster

# Inserts carry a deterministic token; the window makes a non-replicated MergeTree honour it.
DEDUP = "non_replicated_deduplication_window = 10000"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "core tables: bars, ingest manifest, anomalies, quarantine, runs, backups",
        (
            f"""
            CREATE TABLE IF NOT EXISTS bars_1m (
                venue LowCardinality(String),
                symbol String,
                ts DateTime64(3, 'UTC'),
                open Float64,
                high Float64,
                low Float64,
                close Float64,
                volume Float64,
                trades UInt32,
                quote_volume Float64,
                source_id UInt64,
                version UInt64
            ) ENGINE = ReplacingMergeTree(version)
            PARTITION BY toYYYYMM(ts)
            ORDER BY (venue, symbol, ts)
            SETTINGS {DEDUP}
            """,
            f"""
            CREATE TABLE IF NOT EXISTS ingest_files (
                path String,
                size UInt64,
                mtime_ns Int64,
                sha256 String,
                source_id UInt64,
                format LowCardinality(String),
                venue LowCardinality(String),
                symbol String,
                first_ts Nullable(DateTime64(3, 'UTC')),
                last_ts Nullable(DateTime64(3, 'UTC')),
                rows_read UInt64,
                rows_loaded UInt64,
                rows_quarantined UInt64,
                rows_duplicate UInt64,
                status LowCardinality(String),
                reasons String,
                run_id String,
                ingested_at DateTime64(6, 'UTC')
            ) ENGINE = ReplacingMergeTree(ingested_at)
            ORDER BY (path, sha256)
            SETTINGS {DEDUP}
            """,
            f"""
            CREATE TABLE IF NOT EXISTS anomalies (
                venue LowCardinality(String),
                symbol String,
                ts DateTime64(3, 'UTC'),  -- 1970-01-01 when the row had no readable time (detail says which line)
                check LowCardinality(String),
                severity LowCardinality(String),
                detail String,
                source_id UInt64,
                line UInt32,  -- 0 for anomalies found across files in the warehouse
                run_id String,
                detected_at DateTime64(6, 'UTC')
            ) ENGINE = ReplacingMergeTree(detected_at)
            PARTITION BY toYYYYMM(ts)
            ORDER BY (venue, symbol, ts, check, source_id, line)
            SETTINGS {DEDUP}
            """,
            f"""
            CREATE TABLE IF NOT EXISTS quarantine_bars (
                venue LowCardinality(String),
                symbol String,
                ts Nullable(DateTime64(3, 'UTC')),
                open Nullable(Float64),
                high Nullable(Float64),
                low Nullable(Float64),
                close Nullable(Float64),
                volume Nullable(Float64),
                trades Nullable(UInt32),
                quote_volume Nullable(Float64),
                source_id UInt64,
                version UInt64,
                line UInt32,
                raw Nullable(String),
                checks Array(LowCardinality(String)),
                detail String,
                run_id String,
                quarantined_at DateTime64(6, 'UTC')
            ) ENGINE = ReplacingMergeTree(quarantined_at)
            ORDER BY (source_id, line)
            SETTINGS {DEDUP}
            """,
            """
            CREATE TABLE IF NOT EXISTS runs (
                run_id String,
                flow LowCardinality(String),
                status LowCardinality(String),
                started_at DateTime64(6, 'UTC'),
                finished_at DateTime64(6, 'UTC'),
                parameters String,
                summary String
            ) ENGINE = ReplacingMergeTree(finished_at)
            ORDER BY (flow, run_id)
            """,
            """
            CREATE TABLE IF NOT EXISTS backups (
                name String,
                kind LowCardinality(String),
                base Nullable(String),
                chain String,
                location String,
                status LowCardinality(String),
                started_at DateTime64(6, 'UTC'),
                finished_at Nullable(DateTime64(6, 'UTC')),
                size_bytes UInt64,
                tables Array(String),
                rows UInt64,
                verified_at Nullable(DateTime64(6, 'UTC')),
                detail String,
                updated_at DateTime64(6, 'UTC')
            ) ENGINE = ReplacingMergeTree(updated_at)
            ORDER BY name
            """,
        ),
    ),
)

MIGRATIONS = (
    *MIGRATIONS,
    Migration(
        2,
        "maintenance: optimize log and backup fingerprints",
        (
            """
            CREATE TABLE IF NOT EXISTS optimize_log (
                table String,
                partition String,
                status LowCardinality(String),
                parts_before UInt32,
                parts_after UInt32,
                rows_before UInt64,
                rows_after UInt64,
                started_at DateTime64(6, 'UTC'),
                duration_s Float64,
                run_id String
            ) ENGINE = MergeTree
            ORDER BY (table, partition, started_at)
            """,
            """
            CREATE TABLE IF NOT EXISTS backup_fingerprints (
                backup String,
                table String,
                partition String,
                rows UInt64,
                hash UInt64
            ) ENGINE = ReplacingMergeTree
            ORDER BY (backup, table, partition)
            """,
        ),
    ),
)

MIGRATIONS = (
    *MIGRATIONS,
    Migration(
        3,
        "validation: interval anomalies, known events, symbol-day quality",
        (
            # end_ts/minutes make a gap or a run one anomaly; origin tells which stage owns (and rewrites) a row.
            """
            ALTER TABLE anomalies
                ADD COLUMN IF NOT EXISTS end_ts DateTime64(3, 'UTC') DEFAULT ts,
                ADD COLUMN IF NOT EXISTS minutes UInt32 DEFAULT 1,
                ADD COLUMN IF NOT EXISTS origin LowCardinality(String) DEFAULT 'ingest',
                ADD COLUMN IF NOT EXISTS known_event String DEFAULT ''
            """,
            # The reader options a file was loaded with, so a replay reads it the same way (JSON).
            "ALTER TABLE ingest_files ADD COLUMN IF NOT EXISTS read_options String DEFAULT ''",
            f"""
            CREATE TABLE IF NOT EXISTS symbol_days (
                venue LowCardinality(String),
                symbol String,
                day Date,
                expected UInt32,
                present UInt32,
                off_session UInt32,
                missing UInt32,
                quarantined UInt32,
                quarantined_unexplained UInt32,
                anomalies UInt32,
                known UInt32,
                by_check String,
                coverage Float64,
                status LowCardinality(String),
                run_id String,
                validated_at DateTime64(6, 'UTC')
            ) ENGINE = ReplacingMergeTree(validated_at)
            PARTITION BY toYYYYMM(day)
            ORDER BY (venue, symbol, day)
            SETTINGS {DEDUP}
            """,
        ),
    ),
)

MIGRATIONS = (
    *MIGRATIONS,
    Migration(
        15,
        "ingest_files: how each file was read (zone rule, price side, reader notes)",
        (
            # zone_rule: "<rule>:<zone>" (explicit, format, option, venue, default_utc) so a default is visible;
            # price_side: trade | bid | ask | mid | bid+ask as the reader stated it.
            """
            ALTER TABLE ingest_files
                ADD COLUMN IF NOT EXISTS zone_rule String DEFAULT '',
                ADD COLUMN IF NOT EXISTS price_side LowCardinality(String) DEFAULT '',
                ADD COLUMN IF NOT EXISTS reader_notes String DEFAULT ''
            """,
        ),
    ),
)

# What a backup holds: the data and its history; catalogs about backups and maintenance stay out.
BACKUP_TABLES = ("bars_1m", "ingest_files", "anomalies", "quarantine_bars", "symbol_days", "runs", "schema_migrations")
OPTIMIZE_TABLES = ("bars_1m", "ingest_files", "anomalies", "quarantine_bars", "symbol_days", "runs")

MIGRATIONS_DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version UInt32,
    name String,
    applied_at DateTime64(6, 'UTC')
) ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version
"""


def statements(migration: Migration, database: str, cluster: str | None) -> list[str]:
    """The SQL that applies ``migration`` to ``database``: as written, or its cluster form."""
    return [sql for statement in migration.statements for sql in for_cluster(statement, database, cluster)]


def applied_versions(warehouse: Warehouse) -> set[int]:
    for sql in for_cluster(MIGRATIONS_DDL, warehouse.database, warehouse.cluster):
        warehouse.execute(sql)
    table = warehouse.query_arrow("SELECT DISTINCT version FROM schema_migrations")
    return {int(v) for v in table.column(0).to_pylist()} if table.num_rows else set()


def migrate(warehouse: Warehouse) -> list[Migration]:
    """Apply the migrations not yet recorded; returns those applied now (empty on a second run)."""
    done = applied_versions(warehouse)
    applied: list[Migration] = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        for sql in statements(migration, warehouse.database, warehouse.cluster):
            warehouse.execute(sql)
        record = pa.table(
            {
                "version": pa.array([migration.version], pa.uint32()),
                "name": [migration.name],
                "applied_at": pa.array([datetime.now(UTC)], pa.timestamp("us", tz="UTC")),
            }
        )
        warehouse.insert_arrow("schema_migrations", record)
        applied.append(migration)
    return applied


def schema_version(warehouse: Warehouse) -> int:
    return max(applied_versions(warehouse), default=0)
