"""The sample generator is deterministic and realistic where the checks care."""

from __future__ import annotations

import io

import polars as pl

from core.samples import InjectionManifest, SampleSpec, generate


def test_same_seed_same_bytes_and_other_seed_other_bytes() -> None:
    first = [(f.relative_path, f.data) for f in generate(SampleSpec(symbols=2, days=2, inject=False))]
    again = [(f.relative_path, f.data) for f in generate(SampleSpec(symbols=2, days=2, inject=False))]
    other = [(f.relative_path, f.data) for f in generate(SampleSpec(symbols=2, days=2, inject=False, seed=7))]
    assert first == again
    assert first != other


def test_fx_trades_24_5_and_crypto_24_7() -> None:
    # 2024-06-07 is a Friday: FX closes 17:00 New York (21:00 UTC), nothing on Saturday
    files = {
        f.relative_path: f
        for f in generate(SampleSpec(symbols=4, days=3, start=__import__("datetime").date(2024, 6, 7), inject=False))
    }
    fx = [p for p in files if "EURUSD" in p]
    assert fx == ["venue=dukascopy/EURUSD-1m-2024-06-07.csv", "venue=dukascopy/EURUSD-1m-2024-06-09.csv"]
    friday = pl.read_csv(io.BytesIO(files[fx[0]].data), has_header=False)
    assert friday.height == 21 * 60
    assert files["venue=binance/BTCUSDT-1m-2024-06-08.csv"].rows == 1440


def test_bars_are_ohlc_consistent_without_injection() -> None:
    for sample in generate(SampleSpec(symbols=3, days=1, inject=False)):
        frame = pl.read_csv(
            io.BytesIO(sample.data),
            has_header=False,
            new_columns=["t", "o", "h", "l", "c", *(f"x{i}" for i in range(7))],
        )
        o, h, lo, c = (frame[name] for name in ("o", "h", "l", "c"))
        assert ((h >= o) & (h >= c) & (lo <= o) & (lo <= c) & (lo > 0)).all()


def test_injection_manifest_lists_each_kind_once() -> None:
    manifest = InjectionManifest()
    list(generate(SampleSpec(), manifest))
    kinds = sorted(i["kind"] for i in manifest.injected)
    assert kinds == sorted(
        [
            "high_below_low",
            "price_not_finite_positive",
            "volume_negative",
            "duplicate_exact",
            "duplicate_ts_conflict",
            "truncated_file",
            "wrong_columns",
            "stale_run",
            "spike",
            "gap",
        ]
    )
    assert manifest.as_dict()["expected_rows_quarantined"] == 6
