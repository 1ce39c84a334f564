"""The hot tier's recent-bars payloads are written column-wise; they must equal, byte for byte, each bar
encoded by ``struct.json_encode`` (the reference writer), for any floats, times, names and group layout."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from core.hot_layout import recent_values, recent_values_encoded

EDGE_FLOATS = [
    0.0, -0.0, 1.0, 100.0, 0.1, 1 / 3, 2.5, 1e-7, 1.5e-5, 1e-4, 1e-3, 123456789012.0, 1e15, 1e16, 1e17, 1e21,
    1e22, 5e-324, 1.7976931348623157e308, 12345678.9, 0.30000000000000004, 9007199254740993.0, 3e-300,
]  # fmt: skip


def _bars(symbols: int, per_symbol: int, values: np.ndarray, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = symbols * per_symbol
    start = datetime(2024, 6, 3, tzinfo=UTC)
    minutes = rng.permutation(np.arange(n) * 5)  # shuffled: the writer orders bars by time itself
    return pl.DataFrame(
        {
            "venue": np.where(np.arange(n) % 3 == 0, "dukascopy", "binance"),
            "symbol": [f"S{i % symbols:03d}" for i in range(n)],
            "bucket": [start + timedelta(minutes=int(m)) for m in minutes],
            **{c: rng.choice(values, n) for c in ("open", "high", "low", "close", "volume")},
            "minutes": rng.integers(1, 1441, n).astype(np.uint64),
        },
        schema_overrides={"bucket": pl.Datetime("ms", "UTC")},
    )


@pytest.mark.parametrize(
    "values",
    [
        np.array(EDGE_FLOATS),
        100 * np.exp(np.cumsum(np.random.default_rng(1).standard_normal(5000) * 1e-3)),
        10.0 ** np.random.default_rng(2).uniform(-12, 22, 5000),
        np.random.default_rng(3).lognormal(2.0, 3.0, 5000),
    ],
    ids=["edges", "prices", "magnitudes", "volumes"],
)
def test_column_wise_payloads_equal_json_encode_byte_for_byte(values: np.ndarray) -> None:
    bars = _bars(40, 25, values)
    fast, reference = recent_values(bars), recent_values_encoded(bars)
    assert fast.equals(reference)
    payload = json.loads(fast.row(0)[1])
    assert [b["ts"] for b in payload] == sorted(b["ts"] for b in payload)  # oldest first


@pytest.mark.parametrize("odd", [float("nan"), float("inf"), None])
def test_missing_or_non_finite_numbers_are_json_null(odd: float | None) -> None:
    bars = _bars(3, 4, np.array(EDGE_FLOATS)).with_columns(
        pl.when(pl.int_range(pl.len()) == 5).then(odd).otherwise(pl.col("volume")).alias("volume")
    )
    fast = recent_values(bars)
    assert fast.equals(recent_values_encoded(bars))
    assert '"volume":null' in "".join(fast["value"].to_list())


@pytest.mark.parametrize("name", ['A"B', "A\\B", "A\tB", "AÉ/B"])
def test_names_json_escapes_are_written_as_json_encode_writes_them(name: str) -> None:
    bars = _bars(2, 3, np.array(EDGE_FLOATS)).with_columns(pl.lit(name).alias("symbol"))
    fast = recent_values(bars)
    assert fast.equals(recent_values_encoded(bars))
    assert json.loads(fast.row(0)[1])[0]["symbol"] == name


def test_no_bars_no_values() -> None:
    empty = _bars(1, 1, np.array([1.0])).head(0)
    assert recent_values(empty).equals(recent_values_encoded(empty))
    assert recent_values(empty).columns == ["key", "value"]
