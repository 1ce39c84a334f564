"""Statistical checks over a symbol's bar sequence: spikes, stale runs, zero-volume runs, volume outliers.

Frames come sorted by (venue, symbol, ts); a symbol's bars are one contiguous block, so "previous
bar of the same symbol" is a shift plus a boundary mask — no per-group windows, which cost several
times more on 10M rows. Every finding is a warning: the bars stay loaded and the anomaly says why
someone should look.
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl

from core.quality_rules import CheckThresholds
from validation.blocks import block_ids, same_symbol
from validation.catalogue import as_anomalies, empty_anomalies

_FMT = "%Y-%m-%d %H:%M"
_MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its standard deviation
_MIN_WINDOW_RETURNS = 10  # fewer returns of context than this and a spike cannot be judged
_CHUNK = 100_000  # candidate rows per gather, bounds memory at _CHUNK x window floats


def _moves(bars: pl.DataFrame, th: CheckThresholds) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Close-to-close log returns of every bar (NaN where the previous bar is not the same symbol's
    minute before), the candidate rows (close move or wick past its floor), and at those rows the
    larger wick move (log, from the previous close) and whether it is the high. Logs of the wicks are
    taken at the candidates only: on 10M rows they would cost as much as the rest of the check."""
    step = same_symbol() & ((pl.col("ts") - pl.col("ts").shift()) == pl.duration(minutes=1))
    prev = pl.col("close").shift()
    out = bars.select(
        pl.when(step).then((pl.col("close") / prev).log()).fill_null(np.nan).alias("r"),
        (
            step
            & (
                ((pl.col("close") / prev).log().abs() >= th.spike_min_abs_return)
                | (pl.col("low") / prev <= np.exp(-th.spike_min_abs_wick))
                | (pl.col("high") / prev >= np.exp(th.spike_min_abs_wick))
            )
        )
        .fill_null(False)
        .alias("cand"),
    )
    r = out["r"].to_numpy()
    cand = np.flatnonzero(out["cand"].to_numpy())
    at = bars[cand].select("low", "high") if cand.size else bars.clear().select("low", "high")
    before = bars["close"].gather(np.maximum(cand - 1, 0)).to_numpy()
    lo, hi = np.log(at["low"].to_numpy() / before), np.log(at["high"].to_numpy() / before)
    high_wins = np.abs(hi) > np.abs(lo)
    return r, cand, np.where(high_wins, hi, lo), high_wins


def find_spikes(bars: pl.DataFrame, th: CheckThresholds, blocks: pl.Series | None = None) -> pl.DataFrame:
    """A 1-minute move (the close, or a wick's low/high, from the previous close) with |move - median| above
    k x 1.4826 x MAD of the previous ``spike_window`` close returns of the same symbol.

    The rolling median/MAD is taken only where a move reaches its floor (``spike_min_abs_return``,
    ``spike_min_abs_wick``): every other
    row cannot be a spike whatever its window says, and a rolling median over all rows would cost
    more than the rest of the catalogue together.
    """
    if bars.height < 2:
        return empty_anomalies()
    # A flash crash that recovers within its minute shows only in the wick; wicks are judged from a
    # higher floor because an ordinary busy minute's wick already spans several close returns.
    r, cand, wick, high_wins = _moves(bars, th)
    if cand.size == 0:
        return empty_anomalies()
    by_wick = (np.abs(wick) >= th.spike_min_abs_wick) & (np.abs(wick) > np.abs(r[cand]))
    move = np.where(by_wick, wick, r[cand])
    symbol_block = (blocks if blocks is not None else block_ids(bars)).to_numpy()
    offsets = np.arange(1, th.spike_window + 1)
    med, mad, count = (np.empty(cand.size) for _ in range(3))
    for lo in range(0, cand.size, _CHUNK):
        part = cand[lo : lo + _CHUNK]
        idx = part[:, None] - offsets[None, :]
        ok = idx >= 0
        idx = np.where(ok, idx, 0)
        window = r[idx]
        window[~ok | (symbol_block[idx] != symbol_block[part][:, None])] = np.nan
        n = np.sum(~np.isnan(window), axis=1)
        with warnings.catch_warnings():  # an all-NaN window (a symbol's first bar) warns; ``count`` drops it
            warnings.simplefilter("ignore", RuntimeWarning)
            m = np.nanmedian(window, axis=1)
            d = np.nanmedian(np.abs(window - m[:, None]), axis=1)
        med[lo : lo + part.size], mad[lo : lo + part.size], count[lo : lo + part.size] = m, d, n
    scale = np.maximum(_MAD_TO_SIGMA * np.nan_to_num(mad), 1e-12)
    z = np.abs(move - np.nan_to_num(med)) / scale
    hit = (count >= min(_MIN_WINDOW_RETURNS, th.spike_window)) & (z >= th.spike_mad_k)
    if not hit.any():
        return empty_anomalies()
    rows = cand[hit]
    found = (
        bars[rows]
        .select("venue", "symbol", "ts", "source_id")
        .with_columns(
            r=pl.Series(move[hit]),
            kind=pl.Series(np.where(by_wick[hit], np.where(high_wins[hit], "high", "low"), "close")),
            med=pl.Series(med[hit]),
            mad=pl.Series(mad[hit]),
            z=pl.Series(np.minimum(z[hit], 1e9)),
        )
    )
    found = found.with_columns(
        detail=pl.format(
            "1-minute {} move {}% from the previous close vs rolling median {}% "
            "and MAD {}% of the previous {} returns (robust z {})",
            "kind",
            (pl.col("r") * 100).round(3),
            (pl.col("med") * 100).round(4),
            (pl.col("mad") * 100).round(4),
            pl.lit(th.spike_window),
            pl.when(pl.col("mad") > 0)
            .then(pl.col("z").round(1).cast(pl.String))
            .otherwise(pl.lit("inf: a flat window")),
        )
    )
    return as_anomalies(found, "spike")


def _runs(bars: pl.DataFrame, member: pl.Expr, continues: pl.Expr) -> pl.DataFrame:
    """Maximal row runs where ``member`` holds on every row and ``continues`` links each row to the one before."""
    runs = bars.with_columns(_m=member.fill_null(False), _run=(~(same_symbol() & continues).fill_null(False)).cum_sum())
    return (
        runs.filter(pl.col("_m"))
        .group_by("_run")
        .agg(
            pl.col("venue").first(),
            pl.col("symbol").first(),
            pl.col("ts").min().alias("ts"),
            pl.col("ts").max().alias("end_ts"),
            pl.len().alias("minutes"),
            pl.col("close").first(),
            pl.col("close").n_unique().alias("closes"),
            pl.col("source_id").first(),
        )
    )


def find_stale_runs(bars: pl.DataFrame, th: CheckThresholds) -> pl.DataFrame:
    """At least ``stale_min_bars`` bars in a row repeating one close with zero volume (volume ignored where unknown).

    This is what a venue that stopped matching but kept printing bars looks like (Binance 2019-06-07: 73 flat bars).
    """
    same_close = pl.col("close") == pl.col("close").shift()
    if th.volume_known:
        quiet = pl.col("volume") == 0
        member, continues = quiet, quiet & quiet.shift() & same_close
    else:  # nothing to say about volume: identical closes alone
        member, continues = pl.col("close").is_not_null(), same_close
    runs = _runs(bars, member, continues).filter(pl.col("minutes") >= th.stale_min_bars)
    if runs.height == 0:
        return empty_anomalies()
    zero = "zero volume" if th.volume_known else "volume not published"
    runs = runs.sort("venue", "symbol", "ts").with_columns(
        detail=pl.format(
            "{} bars in a row with close {} and {}: {} .. {} UTC",
            "minutes",
            "close",
            pl.lit(zero),
            pl.col("ts").dt.strftime(_FMT),
            pl.col("end_ts").dt.strftime(_FMT),
        )
    )
    return as_anomalies(runs, "stale_run")


def find_zero_volume_runs(bars: pl.DataFrame, th: CheckThresholds) -> pl.DataFrame:
    """At least ``zero_volume_min_bars`` zero-volume bars in a row whose price still moves.

    A flat run is a stale run.
    """
    if not th.volume_known:
        return empty_anomalies()
    zero = pl.col("volume") == 0
    runs = _runs(bars, zero, zero & zero.shift()).filter(pl.col("minutes") >= th.zero_volume_min_bars)
    runs = runs.filter(~((pl.col("closes") == 1) & (pl.col("minutes") >= th.stale_min_bars)))
    if runs.height == 0:
        return empty_anomalies()
    runs = runs.sort("venue", "symbol", "ts").with_columns(
        detail=pl.format(
            "{} bars in a row with zero volume while the close took {} values: {} .. {} UTC",
            "minutes",
            "closes",
            pl.col("ts").dt.strftime(_FMT),
            pl.col("end_ts").dt.strftime(_FMT),
        )
    )
    return as_anomalies(runs, "zero_volume_run")


def find_volume_outliers(bars: pl.DataFrame, th: CheckThresholds, blocks: pl.Series | None = None) -> pl.DataFrame:
    """Volume whose log is ``volume_outlier_k`` robust deviations above the symbol-day median, and that is
    ``volume_outlier_min_ratio`` times the median volume (so a dead-quiet day's first real trade is not news)."""
    if not th.volume_known or bars.height == 0:
        return empty_anomalies()
    # Symbol-day key as one integer (block number, UTC day): grouping on it is several times faster
    # than on (venue, symbol, date). The MAD is only needed for symbol-days holding a row that already
    # passes the ratio test — a handful — so the second median runs on those rows alone.
    ids = blocks if blocks is not None else block_ids(bars)
    day = pl.col("ts").dt.epoch("ms") // 86_400_000
    # The key rises with the rows (sorted frame): flagged as sorted, the per-day median is a window
    # over contiguous slices rather than a hash aggregation and a join back.
    slim = bars.select(
        pl.col("volume").log1p().alias("_lv"), (ids * 1_000_000 + day).alias("_k"), pl.int_range(pl.len()).alias("_row")
    )
    slim = slim.with_columns(pl.col("_k").set_sorted()).with_columns(_med=pl.col("_lv").median().over("_k"))
    median_volume = pl.col("_med").exp().sub(1).clip(lower_bound=1e-12)
    loud = slim.filter(pl.col("_lv").exp().sub(1) >= th.volume_outlier_min_ratio * median_volume)
    if loud.height == 0:
        return empty_anomalies()
    days = slim.filter(pl.col("_k").is_in(loud["_k"].unique().implode()))
    spread = days.group_by("_k").agg(_mad=(pl.col("_lv") - pl.col("_med")).abs().median())
    loud = loud.join(spread, on="_k", how="left")
    scale = pl.max_horizontal(pl.col("_mad") * _MAD_TO_SIGMA, pl.lit(1e-9))
    found = loud.filter((pl.col("_lv") - pl.col("_med")) / scale >= th.volume_outlier_k)
    hit = bars[found["_row"]].select("venue", "symbol", "ts", "volume", "source_id").with_columns(found["_med"])
    if hit.height == 0:
        return empty_anomalies()
    hit = hit.with_columns(
        detail=pl.format(
            "volume {} is {}x the symbol-day median {}",
            pl.col("volume").round(4),
            (pl.col("volume") / pl.col("_med").exp().sub(1)).round(1),
            pl.col("_med").exp().sub(1).round(4),
        )
    )
    return as_anomalies(hit, "volume_outlier")
