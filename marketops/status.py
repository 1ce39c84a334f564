"""``marketops status``: the on-call view — what each tier holds, how fresh it is, what ran and what failed.

Every section is gathered on its own: a store that cannot be reached gives that section an ``error``
(and the command exit 2) while the others still report. The JSON form is one object; the human form is
one rich table per section.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from core.settings import Settings

WARM_SECTIONS = (
    "warm",
    "ingest",
    "freshness",
    "quarantine_24h",
    "validation",
    "maintenance",
    "backups",
    "recorded_runs",
)


def _error(exc: BaseException) -> dict[str, Any]:
    return {"error": f"{type(exc).__name__}: {str(exc)[:500]}"}


def _guard(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return fn()
    except Exception as exc:  # one section's failure must not hide the others
        return _error(exc)


def _age_s(then: datetime | str | None, now: datetime) -> float | None:
    if then is None:
        return None
    moment = datetime.fromisoformat(then) if isinstance(then, str) else then
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round((now - moment).total_seconds(), 1)


def freshness_section(latest: pl.DataFrame, now: datetime, stale_after_minutes: float | None) -> dict[str, Any]:
    """Per venue:symbol: newest bar, its age, and whether it is older than ``stale_after_minutes``."""
    symbols = {}
    for row in latest.iter_rows(named=True):
        age = _age_s(row["last_ts"], now)
        stale = None if stale_after_minutes is None or age is None else age > stale_after_minutes * 60
        symbols[f"{row['venue']}:{row['symbol']}"] = {
            "newest_bar": row["last_ts"].isoformat(),
            "age_s": age,
            "stale": stale,
        }
    return {
        "stale_after_minutes": stale_after_minutes,
        "stale": sum(1 for s in symbols.values() if s["stale"]),
        "symbols": symbols,
    }


def _backups_section(warehouse: Any, now: datetime) -> dict[str, Any]:
    from storage.backups.snapshots import backup_status, catalog

    out = dict(backup_status(warehouse))
    listed = catalog(warehouse).filter(pl.col("status") != "deleted")
    if listed.height == 0:
        return out | {"last": None}
    last = listed.row(listed.height - 1, named=True)
    finished = last.get("finished_at") or last.get("started_at")
    return out | {
        "last": {
            "name": last["name"],
            "kind": last["kind"],
            "status": last["status"],
            "finished_at": finished.isoformat() if finished else None,
            "age_s": _age_s(finished, now),
            "drill_passed": last["status"] == "verified",
            "verified_at": last["verified_at"].isoformat() if last.get("verified_at") else None,
        }
    }


def _hot_section(settings: Settings, warm_latest: pl.DataFrame | None, now: datetime) -> dict[str, Any]:
    from core.hot_layout import LATEST_MAP, epoch_map, freshness
    from storage.hot import open_hot_store
    from storage.hot.epochs import current_epoch, last_update, last_warmup, live_values

    with open_hot_store(settings) as hot:
        epoch = current_epoch(hot)
        record = last_warmup(hot) or {}
        update = last_update(hot) or {}
        maps = {logical: hot.size(epoch_map(logical, epoch)) for logical in record.get("keys", {})} if epoch else {}
        hot_latest = live_values(hot, LATEST_MAP) if epoch else {}
    out: dict[str, Any] = {
        "backend": settings.hot_backend,
        "epoch": epoch,
        "epoch_at": record.get("at"),
        "epoch_age_s": _age_s(record.get("at"), now),
        "last_check": record.get("checked_at"),
        "last_update": update.get("at"),
        "last_update_age_s": _age_s(update.get("at"), now),
        "keys": sum(maps.values()),
        "maps": maps,
    }
    if warm_latest is None:
        return out | {"lag": None, "lag_error": "the warm tier could not be read"}
    fresh = freshness(warm_latest, hot_latest)
    out["max_lag_s"] = fresh["lag_s"].max() if fresh.height and fresh["lag_s"].null_count() < fresh.height else None
    out["symbols_behind"] = int(fresh["drift"].sum()) if fresh.height else 0
    out["lag"] = {
        r["key"]: {
            "warm_newest": r["warm_ts"].isoformat(),
            "hot_newest": r["hot_ts"].isoformat() if r["hot_ts"] else None,
            "lag_s": r["lag_s"],
            "behind": r["drift"],
        }
        for r in fresh.iter_rows(named=True)
    }
    return out


def _cold_section(settings: Settings) -> dict[str, Any]:
    from storage.cold.factory import cold_store
    from storage.cold.manifest import read_manifest, read_state

    store = cold_store(settings)
    manifest = read_manifest(store)
    return {
        "root": store.location,
        "files": manifest.height,
        "rows": int(manifest["rows"].sum() or 0) if manifest.height else 0,
        "last_build": read_state(store).get("last_build"),
    }


def _orchestration_section(settings: Settings) -> dict[str, Any]:
    import os

    from deployments.local_stack import healthy, running_stack
    from deployments.run_history import run_history

    stack = running_stack(settings)
    api = os.environ.get("PREFECT_API_URL") or (stack.api_url if stack else None)
    if not api:
        return {"api": None, "note": "no Prefect API configured or running (`marketops up`)", "flows": {}}
    if not healthy(api):
        return {"api": api, "error": f"the Prefect API at {api} does not answer"}
    ui = stack.ui_url if stack else api.removesuffix("/api")
    return {"api": api, "ui": ui} | run_history(api, ui)


def _warm_figures(settings: Settings, now: datetime) -> dict[str, Any]:
    """What the status reads from the warm tier, raw (time-relative figures are derived in :func:`_warm_sections`).

    Raises when the warehouse cannot be opened; a query that fails gives its figure an ``error``."""
    from storage.status_snapshot import fingerprint
    from storage.warm import open_warehouse
    from storage.warm.hot_source import newest_bar_times
    from storage.warm.schema import migrate, schema_version
    from storage.warm.status import (
        ingest_status,
        maintenance_status,
        quarantine_events,
        recorded_runs,
        validation_status,
        warm_status,
    )

    since = now - QUARANTINE_WINDOW
    figures: dict[str, Any] = {"taken_at": now.isoformat()}
    with open_warehouse(settings) as warehouse:
        migrate(warehouse)  # idempotent: a fresh or older home reports zeros instead of failing
        figures["schema_version"] = schema_version(warehouse)
        figures["warm"] = _guard(lambda: warm_status(warehouse))
        figures["ingest"] = _guard(lambda: ingest_status(warehouse))
        figures["latest"] = _guard(
            lambda: {"rows": [[v, s, ts.isoformat()] for v, s, ts in newest_bar_times(warehouse).iter_rows()]}
        )
        figures["quarantine"] = _guard(
            lambda: {"since": since.isoformat(), "events": quarantine_events(warehouse, since)}
        )
        figures["validation"] = _guard(lambda: validation_status(warehouse))
        figures["maintenance"] = _guard(lambda: maintenance_status(warehouse))
        figures["backups"] = _guard(lambda: _backups_section(warehouse, now))
        figures["recorded_runs"] = _guard(lambda: recorded_runs(warehouse))
        figures["fingerprint"] = fingerprint(settings)  # taken while this process holds the warehouse
    return figures


QUARANTINE_WINDOW = timedelta(hours=24)
_LATEST_SCHEMA: dict[str, pl.DataType] = {
    "venue": pl.String(),
    "symbol": pl.String(),
    "last_ts": pl.Datetime("ms", "UTC"),
}


def quarantine_section(events: list[list[Any]], since: datetime) -> dict[str, Any]:
    """What ingests quarantined since ``since``, from (ingested_at, status, rows_quarantined) of each ingest_files
    row that quarantined anything or failed."""
    recent = [e for e in events if datetime.fromisoformat(e[0]) >= since]
    return {
        "since": since.isoformat(),
        "files_quarantined": sum(1 for e in recent if e[1] == "quarantined"),
        "files_partial": sum(1 for e in recent if e[1] == "partial"),
        "files_failed": sum(1 for e in recent if e[1] == "failed"),
        "rows_quarantined": sum(int(e[2]) for e in recent),
    }


def _warm_sections(
    figures: dict[str, Any], now: datetime, settings: Settings
) -> tuple[dict[str, Any], pl.DataFrame | None]:
    """The warm sections of the report from raw figures, as of ``now``; and the newest bar per symbol."""
    sections: dict[str, Any] = {"schema_version": figures["schema_version"]}
    for name in ("warm", "ingest", "validation", "maintenance", "recorded_runs"):
        sections[name] = figures[name]
    warm_latest = None
    if "error" in figures["latest"]:
        sections["freshness"] = figures["latest"]
    else:
        rows = [(v, s, datetime.fromisoformat(ts)) for v, s, ts in figures["latest"]["rows"]]
        warm_latest = pl.DataFrame(rows, schema=_LATEST_SCHEMA, orient="row")
        sections["freshness"] = _guard(lambda: freshness_section(warm_latest, now, settings.stale_after_minutes))
    quarantine = figures["quarantine"]
    since = now - QUARANTINE_WINDOW
    sections["quarantine_24h"] = (
        quarantine if "error" in quarantine else quarantine_section(quarantine["events"], since)
    )
    backups = dict(figures["backups"])
    if backups.get("last"):
        backups["last"] = backups["last"] | {"age_s": _age_s(backups["last"]["finished_at"], now)}
    sections["backups"] = backups
    return sections, warm_latest


def gather(settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """Every section of the status report; unreachable stores give their sections an ``error``.

    The embedded warm tier is opened only when it changed since the last status (see
    :mod:`storage.status_snapshot`); a server is always asked."""
    from storage.status_snapshot import fingerprint, read_snapshot, write_snapshot

    now = now or datetime.now(UTC)
    report: dict[str, Any] = {"home": str(settings.home_dir), "generated_at": now.isoformat()}
    warm_latest: pl.DataFrame | None = None
    try:
        figures = read_snapshot(settings, fingerprint(settings))
        reused = figures is not None
        if figures is None:
            figures = _warm_figures(settings, now)
            if not any(isinstance(v, dict) and "error" in v for v in figures.values()):
                write_snapshot(settings, figures.pop("fingerprint"), figures)
        sections, warm_latest = _warm_sections(figures, now, settings)
        report["schema_version"] = sections.pop("schema_version")
        report["warm_read"] = {"reused_snapshot": reused, "taken_at": figures["taken_at"]}
        report.update({name: sections[name] for name in WARM_SECTIONS})
    except Exception as exc:  # the warehouse itself is unreachable: every section it feeds says so
        for section in WARM_SECTIONS:
            report.setdefault(section, _error(exc))
    report["cold"] = _guard(lambda: _cold_section(settings))
    report["hot"] = _guard(lambda: _hot_section(settings, warm_latest, now))
    report["orchestration"] = _guard(lambda: _orchestration_section(settings))
    return report


def failed_sections(report: dict[str, Any]) -> list[str]:
    return [name for name, value in report.items() if isinstance(value, dict) and "error" in value]


def _cell(value: Any, key: str = "") -> str:
    """A value as the table shows it; ``pass_rate*`` as a percentage that never rounds a loss to 100%."""
    from core.proportions import rate_percent

    if value is None:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v, k)}" for k, v in value.items()) or "—"
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value) or "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and key.startswith("pass_rate") and 0 <= value <= 1:
        return rate_percent(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.1f}"
    return str(value)


def _rows_table(title: str, rows: dict[str, Any]) -> Table:
    """A table of row-name -> dict of fields (symbols, flows, deployments)."""
    columns: list[str] = []
    for fields in rows.values():
        for key in fields if isinstance(fields, dict) else ["value"]:
            if key not in columns:
                columns.append(key)
    table = Table(title=title, title_justify="left")
    table.add_column("", no_wrap=True)
    for column in columns:
        table.add_column(column, overflow="fold")
    for name, fields in rows.items():
        values = fields if isinstance(fields, dict) else {"value": fields}
        table.add_row(name, *(_cell(values.get(c), c) for c in columns))
    return table


def render(report: dict[str, Any], console: Console) -> None:
    """One table per section: scalars as field/value rows, per-symbol and per-flow maps as their own tables."""
    for section, values in report.items():
        if not isinstance(values, dict):
            console.print(f"[bold]{section}[/]: {values}", highlight=False)
            continue
        table = Table(title=section, title_justify="left", show_header=False)
        table.add_column("field", style="bold", no_wrap=True)
        table.add_column("value", overflow="fold")
        nested = []
        for key, value in values.items():
            if key == "error":
                table.add_row("[red]error[/]", f"[red]{value}[/]")
            elif isinstance(value, dict) and value and all(isinstance(v, dict) or v is None for v in value.values()):
                nested.append((f"{section}.{key}", value))
            else:
                table.add_row(key, _cell(value, key))
        console.print(table)
        for title, rows in nested:
            flat = {name: _flatten(fields) for name, fields in rows.items()}
            console.print(_rows_table(title, flat))


def _flatten(fields: dict[str, Any] | None) -> dict[str, Any]:
    """One level of nesting inlined (``last_finished.state``) so a flow's runs fit one table row."""
    out: dict[str, Any] = {}
    for key, value in (fields or {}).items():
        if isinstance(value, dict) and all(not isinstance(v, dict) for v in value.values()):
            out.update({f"{key}.{k}": v for k, v in value.items() if k not in {"link", "name"}})
        else:
            out[key] = value
    return out
