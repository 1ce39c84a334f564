"""Thresholds of the data-quality checks, per session kind and per venue.

Markets differ: an FX source publishes no volume, an index never trades, a 0.3% minute is news in
EURUSD and noise in a small altcoin. Defaults come per session kind (crypto, fx, equity) and can be
overridden in the settings by session kind or by venue name (venue wins), so the checks
themselves stay plain functions of a frame and one of these objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.sessions import CRYPTO, EQUITY, FX


class CheckThresholds(BaseModel):
    """How sensitive each check is for one venue."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gap_min_minutes: int = Field(default=1, ge=1, description="Missing intervals shorter than this are not reported.")
    spike_window: int = Field(default=60, ge=5, description="Returns in the rolling window the MAD is taken over.")
    spike_mad_k: float = Field(default=12.0, gt=0, description="|r - median| above k x 1.4826 x MAD is a spike.")
    spike_min_abs_return: float = Field(default=0.005, ge=0, description="|log return| below this is never a spike.")
    spike_min_abs_wick: float = Field(
        default=0.03, ge=0, description="A low/high this far from the previous close (log) is judged as a flash move."
    )
    stale_min_bars: int = Field(
        default=15, ge=2, description="Identical closes with zero volume in a row that make a stale run."
    )
    zero_volume_min_bars: int = Field(default=30, ge=2, description="Zero-volume bars in a row that are reported.")
    volume_known: bool = Field(
        default=True,
        description="False: ignore volume even where published (junk tick volume); all-zero volume is ignored anyway.",
    )
    volume_outlier_k: float = Field(default=10.0, gt=0, description="Robust z of log volume within the symbol-day.")
    volume_outlier_min_ratio: float = Field(
        default=25.0, gt=1, description="...and at least this many times the day's median volume."
    )
    day_failed_coverage: float = Field(
        default=0.5, ge=0, le=1, description="A symbol-day with less unexplained coverage has failed."
    )
    day_failed_error_ratio: float = Field(
        default=0.05, ge=0, le=1, description="A symbol-day with more unexplained error rows has failed."
    )


DEFAULT_THRESHOLDS: dict[str, dict[str, Any]] = {
    CRYPTO: {},
    # Quiet FX minutes repeat a close often; symbols that publish no volume at all (HistData quotes)
    # are judged on closes alone whatever this says (the checks look at the data).
    FX: {"spike_min_abs_return": 0.003, "spike_min_abs_wick": 0.01, "stale_min_bars": 30},
    EQUITY: {"spike_min_abs_return": 0.003, "spike_min_abs_wick": 0.02},
}


def thresholds_for(
    venue: str, session: str, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> CheckThresholds:
    """Built-in defaults of the session kind, then settings for the kind, then settings for the venue."""
    merged: dict[str, Any] = dict(DEFAULT_THRESHOLDS.get(session, {}))
    for key in (session, venue):
        merged.update((overrides or {}).get(key, {}))
    return CheckThresholds(**merged)


def check_overrides(overrides: Mapping[str, Mapping[str, Any]]) -> None:
    """Fail at settings load, not at 00:30, when an override names an unknown threshold."""
    for key, values in overrides.items():
        unknown = set(values) - set(CheckThresholds.model_fields)
        if unknown:
            raise ValueError(
                f"dq_thresholds[{key!r}] has unknown keys {sorted(unknown)}; "
                f"known: {sorted(CheckThresholds.model_fields)}"
            )
        CheckThresholds(**values)
