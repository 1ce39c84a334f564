"""Cache tasks: plan which symbol-days changed; rebuild one symbol's affected cold files per task."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from prefect import task
from prefect.assets import materialize

from core.cache_plan import affected, build_outputs
from core.cold_layout import file_path
from core.features import LOOKBACK_BARS
from core.sessions import session_of
from core.settings import Settings
from storage.cold.catalog import refresh_catalog
from storage.cold.manifest import merge_manifest, read_state, write_state
from storage.cold.store import LocalColdStore
from storage.warm import open_warehouse
from storage.warm.cache_source import bars_between, changed_days, lookback_start, max_version, symbol_days
from tasks.lineage import cold, warm
from tasks.retry import task_options

_OPTIONS = task_options()


@task(name="plan_caches", **_OPTIONS)
def plan_caches(settings: Settings, full: bool, since: date | None) -> dict[str, Any]:
    """Symbols with their changed days since the last build's watermark (every day when ``full``)."""
    store = LocalColdStore.from_settings(settings)
    store.sweep_temporaries()
    state = read_state(store)
    after = 0 if full or since else int(state.get("watermark", 0))
    since_ts = datetime(since.year, since.month, since.day, tzinfo=UTC) if since else None
    with open_warehouse(settings) as warehouse:
        watermark = max_version(warehouse)  # taken first: rows landing during the build are caught next time
        changed = changed_days(warehouse, after, since_ts)
    work: dict[tuple[str, str], list[date]] = {}
    for venue, symbol, day in changed.iter_rows():
        work.setdefault((venue, symbol), []).append(day)
    return {
        "watermark": watermark,
        "batches": [{"venue": v, "symbol": s, "days": d} for (v, s), d in sorted(work.items())],
    }


@materialize(cold("datasets"), asset_deps=[warm("bars_1m")], name="build_symbol_caches", **_OPTIONS)
def build_symbol_caches(
    settings: Settings, venue: str, symbol: str, days: list[date], watermark: int, now: datetime
) -> list[dict[str, Any]]:
    """Rewrite the cold files one symbol's changed days touch; returns their manifest rows."""
    store = LocalColdStore.from_settings(settings)
    with open_warehouse(settings) as warehouse:
        what = affected(days, symbol_days(warehouse, venue, symbol))
        start, end = what.fetch_range()
        first_feature = min(what.feature_days)
        back = lookback_start(
            warehouse,
            venue,
            symbol,
            datetime(first_feature.year, first_feature.month, first_feature.day, tzinfo=UTC),
            LOOKBACK_BARS,
        )
        bars = bars_between(warehouse, venue, symbol, min(start, back) if back else start, end)
    outputs = build_outputs(bars, what, session_of(venue, settings.venue_sessions), now)
    rows = []
    built_at = datetime.now(UTC)
    for output in outputs:
        relative = file_path(output.dataset, venue, symbol, output.period)
        digest = store.write_parquet(relative, output.frame, durable=False)  # synced once before the manifest
        rows.append(
            {
                "path": relative,
                "dataset": output.dataset,
                "venue": venue,
                "symbol": symbol,
                "period": output.period.isoformat(),
                "rows": output.frame.height,
                "sha256": digest,
                "source_version": watermark,
                "built_at": built_at,
            }
        )
    return rows


@materialize(cold("catalog"), asset_deps=[cold("datasets")], name="publish_caches", **_OPTIONS)
def publish_caches(
    settings: Settings, rows: list[dict[str, Any]], watermark: int, built_at: datetime
) -> dict[str, Any]:
    """Manifest, then the watermark, then the DuckDB views: each only after what it describes."""
    store = LocalColdStore.from_settings(settings)
    store.sync()  # every data file on disk before the manifest that vouches for it
    manifest = merge_manifest(store, rows) if rows else None
    write_state(store, watermark, built_at)
    views = refresh_catalog(store.root)
    return {"files": manifest.height if manifest is not None else None, "views": views}
