"""OPTIMIZE ... FINAL one partition at a time, with the part statistics it is judged by.

On a cluster the statistics come from one replica of every shard (``cluster(…, system.parts)``) of the
``<table>_local`` data tables, summed per logical table and partition, and the OPTIMIZE runs ``ON CLUSTER``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import polars as pl

from core.identifiers import check_partition_id, check_sql_name
from core.optimize_plan import LAST_SCHEMA, PARTS_SCHEMA
from storage.warm.base import Warehouse
from storage.warm.cluster import local_name, parts_source


def part_stats(warehouse: Warehouse, tables: tuple[str, ...]) -> pl.DataFrame:
    """Active parts, rows and newest modification per (table, partition) of this database."""
    names = {local_name(t, warehouse.cluster): t for t in tables}
    frame = warehouse.query_df(
        f"""
        SELECT transform(table, {{locals:Array(String)}}, {{tables:Array(String)}}, table) AS table,
               partition_id AS partition, count() AS active_parts, sum(rows) AS rows,
               toDateTime64(max(modification_time), 6, 'UTC') AS last_modified
        FROM {parts_source(warehouse.cluster, "parts")}
        WHERE database = {{db:String}} AND active AND table IN {{locals:Array(String)}}
        GROUP BY table, partition_id
        """,
        {"locals": list(names), "tables": list(names.values()), "db": warehouse.database},
    )
    return frame.cast(PARTS_SCHEMA) if frame.height else pl.DataFrame(schema=PARTS_SCHEMA)


def last_optimized(warehouse: Warehouse) -> pl.DataFrame:
    frame = warehouse.query_df(
        "SELECT table, partition, max(started_at) AS optimized_at FROM optimize_log "
        "WHERE status = 'done' GROUP BY table, partition"
    )
    return frame.cast(LAST_SCHEMA) if frame.height else pl.DataFrame(schema=LAST_SCHEMA)


def running_merges(warehouse: Warehouse, table: str, partition: str) -> int:
    return int(
        warehouse.query_scalar(
            f"SELECT count() FROM {parts_source(warehouse.cluster, 'merges')} "
            "WHERE database = {db:String} AND table = {t:String} AND partition_id = {p:String}",
            {"db": warehouse.database, "t": local_name(table, warehouse.cluster), "p": partition},
        )
        or 0
    )


@dataclass(frozen=True)
class PartitionResult:
    table: str
    partition: str
    status: str  # done | skipped | cutoff
    parts_before: int
    parts_after: int
    rows_before: int
    rows_after: int
    started_at: datetime
    duration_s: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def optimize_partition(
    warehouse: Warehouse, table: str, partition: str, cluster: str | None, merge_wait_s: float
) -> PartitionResult:
    """Wait (bounded) for merges already running on the partition, then ``OPTIMIZE ... FINAL`` it.

    ``cluster`` is kept for callers; the warehouse knows its own layout (they agree: both come from settings).
    """
    check_sql_name(table)
    check_partition_id(partition)
    before = _stats(warehouse, table, partition)
    started = datetime.now(UTC)
    if before[0] <= 1:  # merged meanwhile (or by a previous attempt): FINAL would rewrite it for nothing
        return PartitionResult(table, partition, "skipped", before[0], before[0], before[1], before[1], started, 0.0)
    t0 = time.perf_counter()
    deadline = time.monotonic() + merge_wait_s
    while running_merges(warehouse, table, partition) and time.monotonic() < deadline:
        time.sleep(2.0)
    warehouse.optimize(table, partition, final=True)
    after = _stats(warehouse, table, partition)
    return PartitionResult(
        table, partition, "done", before[0], after[0], before[1], after[1], started, time.perf_counter() - t0
    )


def _stats(warehouse: Warehouse, table: str, partition: str) -> tuple[int, int]:
    row = warehouse.query_df(
        f"SELECT count() AS parts, sum(rows) AS rows FROM {parts_source(warehouse.cluster, 'parts')} "
        "WHERE database = {db:String} AND active AND table = {t:String} AND partition_id = {p:String}",
        {"db": warehouse.database, "t": local_name(table, warehouse.cluster), "p": partition},
    ).row(0)
    return int(row[0]), int(row[1] or 0)


def log_results(warehouse: Warehouse, results: list[PartitionResult], run_id: str) -> None:
    if not results:
        return
    frame = pl.DataFrame([r.as_dict() for r in results]).with_columns(pl.lit(run_id).alias("run_id"))
    frame = frame.cast(
        {
            "parts_before": pl.UInt32,
            "parts_after": pl.UInt32,
            "rows_before": pl.UInt64,
            "rows_after": pl.UInt64,
            "started_at": pl.Datetime("us", "UTC"),
        }
    )
    warehouse.insert_df("optimize_log", frame)
