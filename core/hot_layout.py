"""The hot tier's maps, keys and values: pure helpers, so every writer and reader agrees.

Maps (``<logical>__e<epoch>``; readers take the epoch from the status map first):
  bars_latest_1m    key ``venue:SYMBOL`` -> the newest 1m bar
  bars_recent_<tf>  key ``venue:SYMBOL`` -> the last N bars of timeframe tf (oldest first)
  features_latest   key ``venue:SYMBOL`` -> the newest feature vector from the cold tier (when caches are built)
Status map ``marketops_status`` (not versioned): ``epoch``, ``last_warmup``, ``last_update`` (the newest
incremental update after an ingest), ``quality``.
Values are JSON objects with explicit field names; times are UTC ISO-8601 with a ``Z``.
"""

from __future__ import annotations

import re
from datetime import datetime

import polars as pl

STATUS_MAP = "marketops_status"
EPOCH_KEY = "epoch"
LAST_WARMUP_KEY = "last_warmup"
LAST_UPDATE_KEY = "last_update"
QUALITY_KEY = "quality"
LATEST_MAP = "bars_latest_1m"
FEATURES_MAP = "features_latest"
TIMEFRAME_MINUTES = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "4h": 240, "1d": 1440}
_EPOCH_MAP = re.compile(r"^(?P<logical>[a-z0-9_]+)__e(?P<epoch>\d{8}T\d{12}Z)$")
_TS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def recent_map(timeframe: str) -> str:
    return f"bars_recent_{timeframe}"


def new_epoch(now: datetime) -> str:
    """Sortable and unique per microsecond."""
    return now.strftime("%Y%m%dT%H%M%S%f")[:21] + "Z"


def epoch_map(logical: str, epoch: str) -> str:
    return f"{logical}__e{epoch}"


def parse_epoch_map(name: str) -> tuple[str, str] | None:
    match = _EPOCH_MAP.match(name)
    return (match.group("logical"), match.group("epoch")) if match else None


_ORDER_FLOW = ("buy_volume", "sell_volume", "vwap", "price_side", "bar_source")


def _order_flow(columns: list[str]) -> list[str]:
    """The order-flow fields a latest bar carries (when the warm read has them)."""
    return [c for c in _ORDER_FLOW if c in columns]


def _bar_struct(ts_col: str, latest_columns: list[str] | None = None) -> pl.Expr:
    return pl.struct(
        pl.col("venue"),
        pl.col("symbol"),
        pl.col(ts_col).dt.strftime(_TS_FORMAT).alias("ts"),
        "open",
        "high",
        "low",
        "close",
        "volume",
        *(["minutes"] if ts_col == "bucket" else ["trades", "version", *_order_flow(latest_columns or [])]),
    )


def latest_values(latest: pl.DataFrame) -> pl.DataFrame:
    """(key, value) per symbol from (venue, symbol, latest_ts, open, high, low, close, volume, trades, version
    [, buy_volume, sell_volume, vwap, price_side, bar_source])."""
    return latest.select(
        pl.concat_str("venue", pl.lit(":"), "symbol").alias("key"),
        _bar_struct("latest_ts", latest.columns).struct.json_encode().alias("value"),
    ).sort("key")


def recent_values_encoded(bars: pl.DataFrame) -> pl.DataFrame:
    """:func:`recent_values` through ``struct.json_encode`` per bar: the reference its fast path must equal,
    and the path for the rare frame that path does not cover (a missing or non-finite number, text to escape)."""
    encoded = bars.sort("venue", "symbol", "bucket").select(
        pl.concat_str("venue", pl.lit(":"), "symbol").alias("key"),
        _bar_struct("bucket").struct.json_encode().alias("bar"),
    )
    return (
        encoded.group_by("key", maintain_order=True)
        .agg(pl.col("bar").str.join(","))
        .select("key", pl.format("[{}]", pl.col("bar")).alias("value"))
        .sort("key")
    )


_NUMBERS = ("open", "high", "low", "close", "volume")
_PLAIN_TEXT = r'^[^"\\\x00-\x1f]*$'  # nothing JSON escapes


def _plain(bars: pl.DataFrame) -> bool:
    """Whether every bar can be written by :func:`recent_values`' fast path exactly as ``json_encode`` would."""
    checks = [
        *(pl.col(c).is_finite().all() & (pl.col(c).null_count() == 0) for c in _NUMBERS),
        *(pl.col(c).null_count() == 0 for c in ("bucket", "minutes")),
        *(pl.col(c).unique().str.contains(_PLAIN_TEXT).all() for c in ("venue", "symbol")),
    ]
    return bool(bars.select(pl.all_horizontal(checks)).item())


def recent_values(bars: pl.DataFrame) -> pl.DataFrame:
    """(key, value) per symbol: a JSON list of bars oldest first, from resampled rows (… bucket, minutes).

    Byte for byte :func:`recent_values_encoded` (``tests/test_hot_values.py``), written as one ``concat_str``
    per bar inside the per-symbol aggregation: polars writes a finite float as text exactly as ``json_encode``
    does, and this takes about half the time, a large part of a warmup's own cost beside its writes.
    """
    if bars.height == 0 or not _plain(bars):
        return recent_values_encoded(bars)
    fields = [(c, f',"{c}":') for c in _NUMBERS]
    # Every symbol shares the same bucket times: format each distinct time once (~4x less than per bar).
    stamps = bars.select(pl.col("bucket").unique()).with_columns(pl.col("bucket").dt.strftime(_TS_FORMAT).alias("_ts"))
    bar = pl.concat_str(
        pl.lit('{"venue":"'),
        pl.col("venue"),
        pl.lit('","symbol":"'),
        pl.col("symbol"),
        pl.lit('","ts":"'),
        pl.col("_ts"),
        pl.lit('"'),
        *(piece for name, label in fields for piece in (pl.lit(label), pl.col(name).cast(pl.String))),
        pl.lit(',"minutes":'),
        pl.col("minutes").cast(pl.String),
        pl.lit("}"),
    )
    return (
        bars.lazy()
        .join(stamps.lazy(), on="bucket", how="left")
        .group_by("venue", "symbol")
        .agg(bar.sort_by(pl.col("bucket")).str.join(",").alias("bars"))
        .select(
            pl.concat_str("venue", pl.lit(":"), "symbol").alias("key"),
            pl.format("[{}]", pl.col("bars")).alias("value"),
        )
        .sort("key")
        .collect()
    )


def feature_values(latest: pl.DataFrame) -> pl.DataFrame:
    """(key, value) per symbol from the newest feature rows (venue, symbol, ts, feature columns)."""
    if latest.height == 0:
        return pl.DataFrame(schema={"key": pl.String, "value": pl.String})
    features = [c for c in latest.columns if c not in ("venue", "symbol", "ts")]
    return latest.select(
        pl.concat_str("venue", pl.lit(":"), "symbol").alias("key"),
        pl.struct(pl.col("venue"), pl.col("symbol"), pl.col("ts").dt.strftime(_TS_FORMAT).alias("ts"), *features)
        .struct.json_encode()
        .alias("value"),
    ).sort("key")


def symbol_keys(symbols: pl.DataFrame) -> list[str]:
    """Hot keys (``venue:SYMBOL``) of a (venue, symbol) frame, sorted."""
    return sorted(set(symbols.select(pl.concat_str("venue", pl.lit(":"), "symbol"))[:, 0].to_list()))


def freshness(warm: pl.DataFrame, hot_latest: dict[str, str]) -> pl.DataFrame:
    """Per symbol: the newest bar in warm vs in hot, the lag between them, and whether hot drifted.

    ``warm``: (venue, symbol, last_ts) from the warm tier; ``hot_latest``: key -> latest-bar JSON from the
    live epoch. ``lag_s`` is how far hot's newest bar is behind warm's (None when hot has no value);
    ``drift`` is true when hot lacks the symbol or is behind.
    """
    hot = pl.DataFrame(
        {"key": list(hot_latest), "value": list(hot_latest.values())}, schema={"key": pl.String, "value": pl.String}
    ).select(
        "key",
        pl.col("value").str.json_path_match("$.ts").str.strptime(pl.Datetime("ms", "UTC"), _TS_FORMAT).alias("hot_ts"),
    )
    out = (
        warm.select(
            pl.concat_str("venue", pl.lit(":"), "symbol").alias("key"),
            "venue",
            "symbol",
            pl.col("last_ts").cast(pl.Datetime("ms", "UTC")).alias("warm_ts"),
        )
        .join(hot, on="key", how="left")
        .with_columns(lag_s=(pl.col("warm_ts") - pl.col("hot_ts")).dt.total_seconds().clip(lower_bound=0))
    )
    return out.with_columns(drift=pl.col("hot_ts").is_null() | (pl.col("hot_ts") < pl.col("warm_ts"))).sort("key")
