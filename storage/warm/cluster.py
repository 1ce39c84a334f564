"""The warm tier's layout on a ClickHouse cluster (``MARKETOPS_CLICKHOUSE_CLUSTER``).

Single node: a table is one ``…MergeTree`` table and statements run as written.

Cluster: every ``…MergeTree`` table ``t`` of the schema becomes two tables on every host, both created
``ON CLUSTER``:

- ``t_local``: the data, ``Replicated…MergeTree('/clickhouse/tables/{shard}/{database}/t_local', '{replica}', …)``
  (same columns, partitioning, ordering; ``non_replicated_deduplication_window`` becomes
  ``replicated_deduplication_window`` so dedup tokens keep working);
- ``t``: ``Distributed(cluster, database, t_local, cityHash64(<leading ORDER BY columns>))``.

Every query and insert keeps naming ``t`` (the Distributed table), so no code outside this module and
the maintenance verbs knows about the split. The sharding key hashes the sorting key's columns before
its first time column (see :func:`sharding_key`), so all versions of one row key land on one shard and
``FINAL`` (ReplacingMergeTree) stays correct. Maintenance addresses the data: ``OPTIMIZE``, ``BACKUP``,
``RESTORE``, ``EXCHANGE``, ``DELETE`` and mutations name ``t_local`` ``ON CLUSTER``; column changes go to
both tables. The embedded warehouse is one node and never takes this layout.
"""

from __future__ import annotations

import re

from core.errors import ConfigError
from core.identifiers import check_partition_id, check_sql_name

LOCAL_SUFFIX = "_local"

_CREATE = re.compile(r"^\s*CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\s*(?=\()", re.IGNORECASE)
_ENGINE = re.compile(r"ENGINE\s*=\s*(\w*)MergeTree\b(\s*\(([^)]*)\))?", re.IGNORECASE)
_ORDER_BY = re.compile(r"\bORDER\s+BY\s+(tuple\(\)|\(([^)]*)\)|\w+)", re.IGNORECASE)
_ALTER = re.compile(r"^\s*ALTER\s+TABLE\s+(\w+)\s+(.*)$", re.IGNORECASE | re.DOTALL)
_COLUMN_ACTION = re.compile(r"^\s*(ADD|DROP|MODIFY|RENAME|COMMENT|CLEAR)\s+COLUMN\b", re.IGNORECASE)
_DROP = re.compile(r"^\s*DROP\s+TABLE\s+(IF\s+EXISTS\s+)?(\w+)\s*(SYNC)?\s*$", re.IGNORECASE)
_LOCAL_ONLY = re.compile(
    r"^\s*(TRUNCATE\s+TABLE|OPTIMIZE\s+TABLE)\s+(IF\s+EXISTS\s+)?(\w+)\b(.*)$", re.IGNORECASE | re.DOTALL
)
_PASS_THROUGH = re.compile(r"^\s*(INSERT|SELECT|WITH)\b", re.IGNORECASE)


def local_name(table: str, cluster: str | None) -> str:
    """The table that holds ``table``'s data: ``<table>_local`` on a cluster, ``table`` itself otherwise."""
    check_sql_name(table)
    return check_sql_name(table + LOCAL_SUFFIX) if cluster else table


def on_cluster(cluster: str | None) -> str:
    return f" ON CLUSTER {check_sql_name(cluster)}" if cluster else ""


def parts_source(cluster: str | None, system_table: str) -> str:
    """``system.parts`` (or ``merges``) of this node, or of one replica per shard on a cluster."""
    check_sql_name(system_table)
    return f"cluster('{check_sql_name(cluster)}', system.{system_table})" if cluster else f"system.{system_table}"


def sharding_key(create_sql: str) -> str:
    """A hash of the ORDER BY columns that come before the first time column (all of them when the
    first is one): a prefix of the sorting key, so every version of a row key lands on one shard and
    ``FINAL`` stays correct, while a symbol's history stays together (``venue, symbol`` for bars)."""
    match = _ORDER_BY.search(create_sql)
    text = (match.group(2) if match.group(2) is not None else match.group(1)) if match else ""
    columns = [c.strip() for c in text.split(",") if c.strip()]
    if not columns or columns == ["tuple()"]:
        return "rand()"
    leading = []
    for column in columns:
        if re.search(rf"(^|[(,])\s*`?{re.escape(column)}`?\s+(Nullable\()?(Date|DateTime)", create_sql, re.MULTILINE):
            break
        leading.append(column)
    return f"cityHash64({', '.join(leading or columns)})"


def distributed_ddl(table: str, database: str, cluster: str, key: str | None) -> str:
    """``table`` as a Distributed front of ``<table>_local`` in ``database`` (``key`` None: read-only front)."""
    local = local_name(table, cluster)
    args = f"{check_sql_name(cluster)}, {check_sql_name(database)}, {local}" + (f", {key}" if key else "")
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.{table}{on_cluster(cluster)} AS {database}.{local} "
        f"ENGINE = Distributed({args})"
    )


def for_cluster(statement: str, database: str, cluster: str | None) -> list[str]:
    """The statements that apply schema ``statement`` to the cluster layout (itself when single node).

    Understood: CREATE TABLE (…MergeTree or other engines), ALTER TABLE, DROP TABLE, TRUNCATE/OPTIMIZE,
    and INSERT/SELECT (run once, through the Distributed tables). Anything else is refused, so a new
    kind of migration gets a cluster rule instead of silently landing on one host.
    """
    if not cluster:
        return [statement]
    check_sql_name(database)
    where = on_cluster(cluster)
    if create := _CREATE.match(statement):
        table = create.group(2)
        engine = _ENGINE.search(statement)
        if engine is None:  # Memory, Log, …: created on every host as written
            return [_CREATE.sub(lambda m: f"CREATE TABLE {m.group(1) or ''}{table}{where} ", statement, count=1)]
        local = local_name(table, cluster)
        args = engine.group(3).strip() if engine.group(3) else ""
        replicated = f"'/clickhouse/tables/{{shard}}/{{database}}/{local}', '{{replica}}'" + (
            f", {args}" if args else ""
        )
        body = _CREATE.sub(lambda m: f"CREATE TABLE {m.group(1) or ''}{local}{where} ", statement, count=1)
        body = _ENGINE.sub(lambda m: f"ENGINE = Replicated{m.group(1)}MergeTree({replicated})", body, count=1)
        body = re.sub(r"\bnon_replicated_deduplication_window\b", "replicated_deduplication_window", body)
        return [body, distributed_ddl(table, database, cluster, sharding_key(statement))]
    if alter := _ALTER.match(statement):
        table, actions = alter.group(1), alter.group(2)
        local_alter = f"ALTER TABLE {local_name(table, cluster)}{where} {actions}"
        if _COLUMN_ACTION.match(actions):  # the Distributed table mirrors the columns
            return [local_alter, f"ALTER TABLE {table}{where} {actions}"]
        return [local_alter]  # mutations, settings, indexes, TTL: data-side only
    if drop := _DROP.match(statement):
        exists, table = drop.group(1) or "", drop.group(2)
        return [
            f"DROP TABLE {exists}{table}{where} SYNC",
            f"DROP TABLE {exists}{local_name(table, cluster)}{where} SYNC",
        ]
    if local_only := _LOCAL_ONLY.match(statement):
        verb, exists, table, rest = (local_only.group(i) or "" for i in (1, 2, 3, 4))
        return [f"{verb} {exists}{local_name(table, cluster)}{where}{rest}"]
    if _PASS_THROUGH.match(statement):
        return [statement]
    raise ConfigError(f"no cluster rule for schema statement: {statement.strip()[:120]}")


def optimize_statement(table: str, cluster: str | None, partition: bool, final: bool) -> str:
    """``OPTIMIZE`` of ``table``'s data (``<table>_local`` on every shard of a cluster); ``partition``
    adds a ``{partition:String}`` placeholder for the partition id."""
    sql = f"OPTIMIZE TABLE {local_name(table, cluster)}{on_cluster(cluster)}"
    if partition:
        sql += " PARTITION ID {partition:String}"
    return sql + (" FINAL" if final else "")


def backup_statement(database: str, tables: list[str], cluster: str | None, destination: str, base: str | None) -> str:
    """``BACKUP`` of the tables' data; on a cluster every shard writes its ``<table>_local``."""
    listing = ", ".join(f"TABLE {check_sql_name(database)}.{local_name(t, cluster)}" for t in tables)
    sql = f"BACKUP {listing}{on_cluster(cluster)} TO {destination}"
    return sql + (f" SETTINGS base_backup = {base}" if base else "")


def restore_statements(
    database: str,
    tables: list[str],
    cluster: str | None,
    source: str,
    into: str,
    partitions: list[str] | None,
    allow_non_empty: bool,
) -> list[str]:
    """``RESTORE`` of the tables' data into ``into``. On a cluster: the database on every host first,
    every shard restores its ``<table>_local``, then read-only Distributed fronts named like the tables."""
    check_sql_name(database)
    check_sql_name(into)
    parts = " PARTITIONS " + ", ".join(f"'{check_partition_id(p)}'" for p in partitions) if partitions else ""
    listing = ", ".join(
        f"TABLE {database}.{local_name(t, cluster)} AS {into}.{local_name(t, cluster)}{parts}" for t in tables
    )
    restore = f"RESTORE {listing}{on_cluster(cluster)} FROM {source}"
    if allow_non_empty:
        restore += " SETTINGS allow_non_empty_tables = true"
    if not cluster:
        return [restore]
    fronts = [distributed_ddl(check_sql_name(t), into, cluster, None) for t in tables]
    return [f"CREATE DATABASE IF NOT EXISTS {into}{on_cluster(cluster)}", restore, *fronts]
