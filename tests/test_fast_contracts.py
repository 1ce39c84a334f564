"""The one-pass contract proof says "passes" exactly when pandera does, and every failure still gets pandera's
verdict and report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from core.errors import ContractViolation
from validation.contracts import enforce
from validation.contracts_tiers import CacheInputBars, ColdResampled
from validation.fast_contracts import enforce_fast, passes


def _bars(n: int = 50) -> pl.DataFrame:
    start = datetime(2024, 6, 3, tzinfo=UTC)
    return pl.DataFrame(
        {
            "venue": "binance",
            "symbol": "BTCUSDT",
            "ts": [start + timedelta(minutes=i) for i in range(n)],
            "open": 100.0,
            "high": 101.0,
            "low": 99.0,
            "close": 100.5,
            "volume": 1.0,
            "trades": 3,
            "quote_volume": None,
            "buy_volume": 0.5,
            "sell_volume": None,
            "vwap": 100.2,
            "price_side": "trade",
            "bar_source": "candles",
        },
        schema_overrides={
            "ts": pl.Datetime("ms", "UTC"),
            "trades": pl.UInt32,
            "quote_volume": pl.Float64,
            "sell_volume": pl.Float64,
        },
    )


BROKEN = {
    "negative price": lambda f: f.with_columns(pl.lit(-1.0).alias("open")),
    "NaN price": lambda f: f.with_columns(pl.lit(float("nan")).alias("close")),
    "infinite volume": lambda f: f.with_columns(pl.lit(float("inf")).alias("volume")),
    "null in a non-nullable column": lambda f: f.with_columns(pl.lit(None, pl.Float64).alias("high")),
    "high below low": lambda f: f.with_columns(pl.lit(98.0).alias("high")),
    "lower-case symbol": lambda f: f.with_columns(pl.lit("btcusdt").alias("symbol")),
    "unknown price side": lambda f: f.with_columns(pl.lit("last").alias("price_side")),
    "duplicate minute": lambda f: pl.concat([f, f.head(1)]),
    "extra column": lambda f: f.with_columns(pl.lit(1).alias("extra")),
    "missing column": lambda f: f.drop("close"),
    "wrong type": lambda f: f.with_columns(pl.col("trades").cast(pl.Int64)),
}


def test_a_good_frame_passes_in_one_query_and_equals_pandera() -> None:
    frame = _bars()
    assert passes(CacheInputBars, frame)
    assert enforce_fast(CacheInputBars, frame).equals(enforce(CacheInputBars, frame))


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_every_violation_is_not_proven_and_gets_pandera_s_verdict(case: str) -> None:
    frame = BROKEN[case](_bars())
    assert not passes(CacheInputBars, frame)
    with pytest.raises(ContractViolation) as fast:
        enforce_fast(CacheInputBars, frame)
    with pytest.raises(ContractViolation) as slow:
        enforce(CacheInputBars, frame)
    assert _cases(fast.value) == _cases(slow.value)  # the same report


def _cases(exc: ContractViolation) -> set[str]:
    return set(str(exc).split(" violated: ", 1)[1].split("; "))


def test_a_dataframe_level_check_of_a_resampled_contract_is_applied() -> None:
    good = (
        _bars(3)
        .select("ts", "open", "high", "low", "close", "volume", "vwap")
        .with_columns(pl.lit(5, pl.UInt32).alias("minutes"), pl.lit(7, pl.UInt64).alias("trades"))
    )
    assert passes(ColdResampled, good)
    outside = good.with_columns(pl.lit(150.0).alias("vwap"))  # vwap above the bar's high
    assert not passes(ColdResampled, outside)
    with pytest.raises(ContractViolation, match="vwap_within_range"):
        enforce_fast(ColdResampled, outside)


def test_a_column_level_custom_check_of_the_hot_payload_is_applied() -> None:
    from validation.contracts_tiers import HotPayload

    good = pl.DataFrame({"key": ["binance:BTCUSDT", "dukascopy:EURUSD"], "value": ['{"a":1}', "[1,2]"]})
    assert passes(HotPayload, good)
    bad = good.with_columns(pl.Series("value", ['{"a":1}', "not json"]))
    assert not passes(HotPayload, bad)
    with pytest.raises(ContractViolation, match="json_object_or_list"):
        enforce_fast(HotPayload, bad)
    assert not passes(HotPayload, good.with_columns(pl.lit("BTCUSDT").alias("key")))  # no venue in the key


def test_uniqueness_is_proven_by_order_or_by_hashing_with_the_same_verdict() -> None:
    """One symbol in time order is unique without hashing; rows out of order (or several symbols) are hashed,
    and a repeated key out of order is still caught."""
    frame = _bars(20)
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=1)
    two_symbols = pl.concat([frame, frame.with_columns(pl.lit("ETHUSDT").alias("symbol"))])
    for good in (frame, shuffled, two_symbols, frame.head(1), frame.head(0)):
        assert passes(CacheInputBars, good)
    repeated = pl.concat([frame.slice(5, 1), frame])  # the repeat comes first: time does not rise
    assert not passes(CacheInputBars, repeated)
    with pytest.raises(ContractViolation, match="unique"):
        enforce_fast(CacheInputBars, repeated)


def test_the_proof_is_built_once_per_contract_and_frame_schema_and_judges_each_frame_anew() -> None:
    """A cache build checks thousands of frames of a few schemas: the translated rules are reused, never the
    verdict. Every broken frame after a good one of the same schema is still refused."""
    from validation import fast_contracts

    fast_contracts._PROOFS.clear()
    assert passes(CacheInputBars, _bars())
    assert len(fast_contracts._PROOFS) == 1
    proof = next(iter(fast_contracts._PROOFS.values()))
    for case in sorted(BROKEN):
        frame = BROKEN[case](_bars())
        assert not passes(CacheInputBars, frame), case
    assert passes(CacheInputBars, _bars(7))  # the good schema's proof again, unchanged
    assert next(iter(fast_contracts._PROOFS.values())) is proof
    # the extra/missing column and wrong type cases have schemas of their own (and no proof: pandera decides)
    assert {p is None for p in fast_contracts._PROOFS.values()} == {False, True}
    assert passes(
        ColdResampled,
        _bars(3)
        .select("ts", "open", "high", "low", "close", "volume", "vwap")
        .with_columns(pl.lit(5, pl.UInt32).alias("minutes"), pl.lit(7, pl.UInt64).alias("trades")),
    )  # another contract, another proof


@pytest.mark.parametrize("row", [0, 17, 49])
def test_a_text_rule_broken_by_one_row_anywhere_is_caught_and_mixed_good_values_pass(row: int) -> None:
    """Text rules are judged on the value of each run of equal rows: one bad row at the start, inside or at
    the end is its own run; several good values, interleaved, all pass."""
    frame = _bars()
    sides = ["trade"] * frame.height
    sides[row] = "last"  # not a price side
    bad = frame.with_columns(pl.Series("price_side", sides))
    assert not passes(CacheInputBars, bad)
    with pytest.raises(ContractViolation):
        enforce(CacheInputBars, bad)
    mixed = frame.with_columns(pl.Series("price_side", [("trade", "mid", "bid")[i % 3] for i in range(frame.height)]))
    assert passes(CacheInputBars, mixed) and enforce(CacheInputBars, mixed).equals(mixed)
