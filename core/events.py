"""The marketops event vocabulary: names, resources and payloads, as pure data.

Flows tell Prefect what happened through these events (``flows/events.py`` sends them) and the
deployment triggers in ``prefect.yaml`` react to them, so the names and the resource labels a
trigger matches on are fixed here, in one place. Payloads stay small and JSON-plain (strings,
numbers, lists) because trigger templates render them into flow parameters.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import polars as pl

INGEST_LOADED = "marketops.ingest.loaded"
DQ_BREACH = "marketops.dq.breach"
BACKUP_VERIFIED = "marketops.backup.verified"
BACKUP_DRILL_FAILED = "marketops.backup.drill_failed"
HOT_STALE = "marketops.hot.stale"

ALL_EVENTS = (INGEST_LOADED, DQ_BREACH, BACKUP_VERIFIED, BACKUP_DRILL_FAILED, HOT_STALE)

# Resource labels the triggers match on (label values are strings in Prefect's event grammar).
LABEL_WAREHOUSE = "marketops.warehouse"
LABEL_CHAINED = "marketops.chained"  # "true" when a parent flow (daily) chains the next stages itself
LABEL_BACKUP_KIND = "marketops.backup.kind"
LABEL_HOT_REBUILDING = "marketops.hot.rebuilding"  # "true" when the emitting run rebuilds the hot tier itself

MAX_LISTED = 200  # symbols/days listed in a payload; the counts are always exact


@dataclass(frozen=True)
class MarketopsEvent:
    """One event as Prefect's ``emit_event`` takes it."""

    event: str
    resource: dict[str, str]
    payload: dict[str, Any] = field(default_factory=dict)


def warehouse_id(clickhouse_url: str | None, warehouse_dir: str, database: str) -> str:
    """A short stable id of one warm store, so several installations can share a Prefect server."""
    where = f"{clickhouse_url or warehouse_dir}/{database}"
    return hashlib.sha256(where.encode()).hexdigest()[:12]


def _resource(domain: str, warehouse: str, **labels: str) -> dict[str, str]:
    return {
        "prefect.resource.id": f"marketops.{domain}.{warehouse}",
        "prefect.resource.name": f"marketops {domain}",
        LABEL_WAREHOUSE: warehouse,
        **labels,
    }


def ingest_loaded(touched: pl.DataFrame, warehouse: str, chained: bool, run_id: str) -> MarketopsEvent | None:
    """What an ingest run loaded: venues, symbols and UTC days, and the ``since``/``until`` to validate.

    ``touched`` has one row per loaded file: venue, symbol, first_ts, last_ts, rows_loaded.
    None when the run loaded no bars (no event: nothing downstream has work)."""
    loaded = touched.filter(pl.col("rows_loaded") > 0, pl.col("first_ts").is_not_null())
    if loaded.height == 0:
        return None
    days = (
        loaded.select(pl.date_ranges(pl.col("first_ts").dt.date(), pl.col("last_ts").dt.date()).alias("day"))
        .explode("day")
        .unique()
        .sort("day")["day"]
        .to_list()
    )
    symbols = sorted({f"{v}:{s}" for v, s in loaded.select("venue", "symbol").iter_rows()})
    payload = {
        "run_id": run_id,
        "since": days[0].isoformat(),
        "until": days[-1].isoformat(),
        "days": [d.isoformat() for d in days[:MAX_LISTED]],
        "day_count": len(days),
        "symbols": symbols[:MAX_LISTED],
        "symbol_count": len(symbols),
        "venues": sorted(set(loaded["venue"].to_list())),
        "files": loaded.height,
        "rows_loaded": int(loaded["rows_loaded"].sum()),
    }
    return MarketopsEvent(
        INGEST_LOADED, _resource("ingest", warehouse, **{LABEL_CHAINED: str(chained).lower()}), payload
    )


def dq_breach(rates: dict[str, Any], warehouse: str, report_url: str | None) -> MarketopsEvent | None:
    """A validate range whose pass rate fell below the threshold (None when it did not)."""
    if not rates.get("breach"):
        return None
    keys = ("first", "last", "threshold", "pass_rate_files", "pass_rate_rows", "pass_rate_symbol_days", "headline")
    payload = {k: rates.get(k) for k in keys} | {
        "since": rates.get("first"),
        "until": rates.get("last"),
        "anomalies_by_check": dict(rates.get("anomalies_by_check") or {}),
        "report": report_url,
    }
    return MarketopsEvent(DQ_BREACH, _resource("dq", warehouse), payload)


def backup_drill(snapshot: dict[str, Any], drill: dict[str, Any], warehouse: str) -> MarketopsEvent | None:
    """The restore drill of a snapshot: verified or failed (None when the drill was skipped)."""
    verified = drill.get("verified")
    if verified is None:
        return None
    payload = {
        "backup": snapshot.get("name"),
        "kind": snapshot.get("kind"),
        "base": snapshot.get("base"),
        "rows": snapshot.get("rows"),
        "size_bytes": snapshot.get("size_bytes"),
        "detail": drill.get("detail"),
    }
    labels = {LABEL_BACKUP_KIND: str(snapshot.get("kind"))}
    name = BACKUP_VERIFIED if verified else BACKUP_DRILL_FAILED
    return MarketopsEvent(name, _resource("backup", warehouse, **labels), payload)


def hot_stale(problems: list[str], mode: str, rebuilding: bool, warehouse: str) -> MarketopsEvent | None:
    """The hot tier lost its epoch or lags the warm tier (None when it is healthy)."""
    if not problems:
        return None
    labels = {LABEL_HOT_REBUILDING: str(rebuilding).lower()}
    payload = {"problems": problems[:MAX_LISTED], "mode": mode, "rebuilding": rebuilding}
    return MarketopsEvent(HOT_STALE, _resource("hot", warehouse, **labels), payload)
