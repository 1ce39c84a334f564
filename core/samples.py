"""Deterministic, realistic 1-minute bars written in the data.binance.vision klines layout.

Realism where checks care: volatility clusters (an AR(1) log-volatility process), volume follows an
intraday profile, FX symbols trade Sunday 17:00 -> Friday 17:00 America/New_York (DST-aware) while
crypto trades 24/7. With ``inject=True`` a known set of anomalies is planted and listed in a
manifest, so a test can check that each one is caught exactly.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from scipy.signal import lfilter

CRYPTO = [
    ("BTCUSDT", 60_000.0),
    ("ETHUSDT", 3_000.0),
    ("SOLUSDT", 150.0),
    ("BNBUSDT", 550.0),
    ("XRPUSDT", 0.6),
    ("ADAUSDT", 0.45),
]
FX = [("EURUSD", 1.08), ("GBPUSD", 1.27), ("USDJPY", 151.0)]
CRYPTO_VENUE = "binance"
FX_VENUE = "dukascopy"
MINUTES = 1440


@dataclass(frozen=True)
class SampleSpec:
    symbols: int = 4
    days: int = 3
    start: date = date(2024, 6, 3)
    seed: int = 42
    inject: bool = True
    fx_share: float = 0.25  # share of symbols that are FX (24/5); the rest crypto (24/7)


@dataclass(frozen=True)
class SampleFile:
    relative_path: str
    data: bytes
    rows: int


@dataclass
class InjectionManifest:
    """What was planted, and what a correct ingest must therefore report."""

    injected: list[dict[str, Any]] = field(default_factory=list)
    rows_written: int = 0
    expected_rows_quarantined: int = 0
    expected_rows_duplicate: int = 0
    expected_files_quarantined: int = 0
    expected_files_partial: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "injected": self.injected,
            "rows_written": self.rows_written,
            "expected_rows_loaded": self.rows_written - self.expected_rows_quarantined - self.expected_rows_duplicate,
            "expected_rows_quarantined": self.expected_rows_quarantined,
            "expected_rows_duplicate": self.expected_rows_duplicate,
            "expected_files_quarantined": self.expected_files_quarantined,
            "expected_files_partial": self.expected_files_partial,
        }


def universe(spec: SampleSpec) -> list[tuple[str, str, float]]:
    """(venue, symbol, start price) for the spec: FX first by share, then crypto."""
    n_fx = min(len(FX), round(spec.symbols * spec.fx_share))
    n_crypto = spec.symbols - n_fx
    crypto = [(CRYPTO_VENUE, s, p) for s, p in CRYPTO[:n_crypto]]
    crypto += [
        (CRYPTO_VENUE, f"SYN{i:03d}USDT", 10.0 + i) for i in range(len(CRYPTO), n_crypto)
    ]  # beyond the named ones
    return [(FX_VENUE, s, p) for s, p in FX[:n_fx]] + crypto


def _session_mask(ts: pl.Series, venue: str) -> np.ndarray:
    if venue != FX_VENUE:
        return np.ones(ts.len(), dtype=bool)
    local = ts.dt.convert_time_zone("America/New_York")
    wd, hour = local.dt.weekday().to_numpy(), local.dt.hour().to_numpy()  # Mon=1 .. Sun=7
    closed = (wd == 6) | ((wd == 5) & (hour >= 17)) | ((wd == 7) & (hour < 17))
    return np.asarray(~closed, dtype=bool)


def _symbol_series(rng: np.random.Generator, n: int, price0: float, minute_of_day: np.ndarray) -> dict[str, np.ndarray]:
    shocks = rng.standard_normal(n)
    log_vol = lfilter([1.0], [1.0, -0.995], rng.standard_normal(n) * 0.08)  # slow, clustered volatility
    profile = 1.0 + 0.6 * np.cos((minute_of_day / MINUTES - 0.6) * 2 * np.pi) ** 2  # busier in two daily peaks
    sigma = 0.0007 * np.exp(log_vol) * profile
    ret = sigma * shocks
    close = price0 * np.exp(np.cumsum(ret))
    open_ = np.concatenate([[price0], close[:-1]]) * np.exp(rng.standard_normal(n) * sigma * 0.05)
    wick = np.abs(rng.standard_normal((2, n))) * sigma * 0.6
    high = np.maximum(open_, close) * np.exp(wick[0])
    low = np.minimum(open_, close) * np.exp(-wick[1])
    volume = rng.lognormal(mean=2.0, sigma=0.5, size=n) * profile * np.exp(log_vol * 2)
    trades = rng.poisson(volume * 20).astype(np.int64) + 1
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume, "trades": trades}


def _day_frame(symbol_data: dict[str, np.ndarray], ts_ms: np.ndarray, micros: bool) -> pl.DataFrame:
    scale = 1000 if micros else 1
    frame = pl.DataFrame(
        {
            "open_time": ts_ms * scale,
            **{k: symbol_data[k] for k in ("open", "high", "low", "close", "volume")},
            "close_time": (ts_ms + 59_999) * scale + (999 if micros else 0),
            "quote_volume": symbol_data["volume"] * symbol_data["close"],
            "trades": symbol_data["trades"],
            "taker_buy_base": symbol_data["volume"] * 0.5,
            "taker_buy_quote": symbol_data["volume"] * symbol_data["close"] * 0.5,
            "ignore": np.zeros(len(ts_ms), dtype=np.int64),
        }
    )
    return frame


def _csv(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, float_precision=8)
    return buffer.getvalue()


def generate(spec: SampleSpec, manifest: InjectionManifest | None = None) -> Iterator[SampleFile]:
    """Yield one klines CSV per (symbol, day) with bars; fill ``manifest`` with what was injected."""
    manifest = manifest if manifest is not None else InjectionManifest()
    rng = np.random.default_rng(spec.seed)
    start = np.datetime64(spec.start.isoformat(), "ms").astype(np.int64)
    all_ts = start + np.arange(spec.days * MINUTES, dtype=np.int64) * 60_000
    ts_series = pl.Series(all_ts).cast(pl.Datetime("ms")).dt.replace_time_zone("UTC")
    minute_of_day = np.arange(spec.days * MINUTES) % MINUTES
    files: list[tuple[str, pl.DataFrame]] = []
    for venue, symbol, price0 in universe(spec):
        data = _symbol_series(rng, all_ts.size, price0, minute_of_day)
        open_mask = _session_mask(ts_series, venue)
        for d in range(spec.days):
            day_slice = slice(d * MINUTES, (d + 1) * MINUTES)
            keep = open_mask[day_slice]
            if not keep.any():
                continue
            day = spec.start + timedelta(days=d)
            frame = _day_frame(
                {k: v[day_slice][keep] for k, v in data.items()}, all_ts[day_slice][keep], micros=day.year >= 2025
            )
            files.append((f"venue={venue}/{symbol}-1m-{day.isoformat()}.csv", frame))
    injections = _plan_injections(rng, files) if spec.inject else {}
    for index, (relative, frame) in enumerate(files):
        inject = injections.get(index)
        data_bytes, rows = inject(relative, frame, manifest) if inject else (_csv(frame), frame.height)
        manifest.rows_written += rows
        yield SampleFile(relative, data_bytes, rows)


def _plan_injections(rng: np.random.Generator, files: list[tuple[str, pl.DataFrame]]) -> dict[int, Any]:
    """Spread one of each anomaly kind over distinct files (deterministic via ``rng``)."""
    if len(files) < 4:
        return {}
    order = rng.permutation(len(files))
    plan = {
        int(order[0]): _inject_bad_rows,
        int(order[1]): _inject_duplicates,
        int(order[2]): _inject_truncation,
        int(order[3]): _inject_wrong_columns,
    }
    # Warnings for the validate flow: the rows load, the anomalies show up in the data-quality report.
    for index, inject in zip(order[4:], (_inject_stale_run, _inject_spike, _inject_gap), strict=False):
        plan[int(index)] = inject
    return plan


def _inject_bad_rows(relative: str, frame: pl.DataFrame, manifest: InjectionManifest) -> tuple[bytes, int]:
    n = frame.height
    rows = [n // 5, n // 2, (4 * n) // 5]
    idx = pl.int_range(pl.len())
    bad = frame.with_columns(
        high=pl.when(idx == rows[0]).then(pl.col("low") * 0.99).otherwise(pl.col("high")),  # high below low
        low=pl.when(idx == rows[1]).then(-pl.col("low")).otherwise(pl.col("low")),  # negative price
        volume=pl.when(idx == rows[2]).then(-1.0).otherwise(pl.col("volume")),  # negative volume
    )
    for row, kind in zip(rows, ["high_below_low", "price_not_finite_positive", "volume_negative"], strict=True):
        manifest.injected.append({"kind": kind, "file": relative, "line": row + 1})
    manifest.expected_rows_quarantined += 3
    manifest.expected_files_partial += 1
    return _csv(bad), n


def _inject_duplicates(relative: str, frame: pl.DataFrame, manifest: InjectionManifest) -> tuple[bytes, int]:
    n = frame.height
    exact = frame.slice(n // 3, 1)
    conflict = frame.slice((2 * n) // 3, 1).with_columns(close=pl.col("close") * 1.001, high=pl.col("high") * 1.002)
    out = pl.concat(
        [
            frame.slice(0, n // 3 + 1),
            exact,
            frame.slice(n // 3 + 1, (2 * n) // 3 - n // 3 - 1),
            frame.slice((2 * n) // 3, 1),
            conflict,
            frame.slice((2 * n) // 3 + 1),
        ]
    )
    manifest.injected.append({"kind": "duplicate_exact", "file": relative, "line": n // 3 + 2})
    manifest.injected.append(
        {"kind": "duplicate_ts_conflict", "file": relative, "lines": [(2 * n) // 3 + 2, (2 * n) // 3 + 3]}
    )
    manifest.expected_rows_duplicate += 1
    manifest.expected_rows_quarantined += 2  # both conflicting rows: nobody can tell which is right
    manifest.expected_files_partial += 1
    return _csv(out), out.height


def _inject_truncation(relative: str, frame: pl.DataFrame, manifest: InjectionManifest) -> tuple[bytes, int]:
    data = _csv(frame)
    last_line_start = data.rstrip(b"\n").rfind(b"\n") + 1
    cut = last_line_start + data[last_line_start:].index(b",") + 6  # mid-way through the second field
    manifest.injected.append({"kind": "truncated_file", "file": relative, "line": frame.height})
    manifest.expected_rows_quarantined += 1
    manifest.expected_files_partial += 1
    return data[:cut], frame.height


def _ts_text(frame: pl.DataFrame, row: int) -> str:
    ms = int(frame["open_time"][row])
    ms = ms // 1000 if ms > 10**14 else ms  # microsecond files from 2025 on
    return str(pl.Series([ms]).cast(pl.Datetime("ms")).dt.strftime("%Y-%m-%dT%H:%M:%SZ")[0])


def _inject_stale_run(relative: str, frame: pl.DataFrame, manifest: InjectionManifest) -> tuple[bytes, int]:
    """40 bars repeating the previous close with zero volume: a venue that stopped matching but kept printing."""
    start = frame.height // 3
    idx = pl.int_range(pl.len())
    flat = frame["close"][start - 1]
    run = (idx >= start) & (idx < start + 40)
    out = frame.with_columns(
        *(pl.when(run).then(pl.lit(flat)).otherwise(pl.col(c)).alias(c) for c in ("open", "high", "low", "close")),
        *(
            pl.when(run).then(0).otherwise(pl.col(c)).alias(c)
            for c in ("volume", "quote_volume", "trades", "taker_buy_base", "taker_buy_quote")
        ),
    )
    manifest.injected.append(
        {"kind": "stale_run", "file": relative, "line": start + 1, "ts": _ts_text(frame, start), "bars": 40}
    )
    return _csv(out), out.height


def _inject_spike(relative: str, frame: pl.DataFrame, manifest: InjectionManifest) -> tuple[bytes, int]:
    """One bar printed 3% away (a bad print or a flash move): a spike out, and one back on the next bar."""
    row = frame.height // 2
    idx = pl.int_range(pl.len())
    out = frame.with_columns(
        close=pl.when(idx == row).then(pl.col("close") * 1.03).otherwise(pl.col("close")),
        high=pl.when(idx == row).then(pl.col("close") * 1.03 * 1.0005).otherwise(pl.col("high")),
    )
    manifest.injected.append({"kind": "spike", "file": relative, "line": row + 1, "ts": _ts_text(frame, row)})
    return _csv(out), out.height


def _inject_gap(relative: str, frame: pl.DataFrame, manifest: InjectionManifest) -> tuple[bytes, int]:
    """30 minutes the file never delivers: a gap the validate flow reports as one interval."""
    start = (2 * frame.height) // 3
    out = pl.concat([frame.slice(0, start), frame.slice(start + 30)])
    manifest.injected.append({"kind": "gap", "file": relative, "ts": _ts_text(frame, start), "minutes": 30})
    return _csv(out), out.height


def _inject_wrong_columns(relative: str, frame: pl.DataFrame, manifest: InjectionManifest) -> tuple[bytes, int]:
    manifest.injected.append({"kind": "wrong_columns", "file": relative})
    manifest.expected_files_quarantined += 1
    # Quarantined whole: no reader accepts it, so none of its rows count as read.
    return _csv(frame.select("open_time", "open", "high", "low", "close")), 0
