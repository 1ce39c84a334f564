"""Trading sessions per venue: where a daily bar starts and ends.

crypto  00:00 -> 24:00 UTC
fx      17:00 -> 17:00 America/New_York (the FX day; DST-aware)
equity  09:30 -> 16:00 America/New_York, regular hours only (bars outside are not part of the day)
Daily bars are labelled by their session's open time in UTC, like every other bar.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

CRYPTO = "crypto"
FX = "fx"
EQUITY = "equity"
NEW_YORK = "America/New_York"

DEFAULT_VENUE_SESSIONS: dict[str, str] = {
    "binance": CRYPTO,
    "bybit": CRYPTO,
    "coinbase": CRYPTO,
    "kraken": CRYPTO,
    "okx": CRYPTO,
    "dukascopy": FX,
    "histdata": FX,
    "oanda": FX,
    "fxcm": FX,
    "nyse": EQUITY,
    "nasdaq": EQUITY,
    "cboe": EQUITY,
    "arca": EQUITY,
    "usa": EQUITY,  # QuantConnect LEAN's US equity market (the venue of LEAN equity files)
}


def session_of(venue: str, overrides: Mapping[str, str] | None = None) -> str:
    """The session kind of a venue; unknown venues trade around the clock (UTC days)."""
    return {**DEFAULT_VENUE_SESSIONS, **(overrides or {})}.get(venue, CRYPTO)


def session_open(ts: pl.Expr, session: str) -> pl.Expr:
    """UTC open time of the session each bar belongs to; null for equity bars outside regular hours."""
    if session == CRYPTO:
        return ts.dt.truncate("1d")
    local = ts.dt.convert_time_zone(NEW_YORK)
    if session == FX:
        shifted = local.dt.replace_time_zone(None) - pl.duration(hours=17)
        opened = shifted.dt.truncate("1d") + pl.duration(hours=17)
        return opened.dt.replace_time_zone(NEW_YORK, ambiguous="earliest", non_existent="null").dt.convert_time_zone(
            "UTC"
        )
    if session == EQUITY:
        naive = local.dt.replace_time_zone(None)
        minutes = naive.dt.hour().cast(pl.Int32) * 60 + naive.dt.minute().cast(pl.Int32)
        regular = (minutes >= 9 * 60 + 30) & (minutes < 16 * 60)
        opened = naive.dt.truncate("1d") + pl.duration(hours=9, minutes=30)
        return pl.when(regular).then(opened.dt.replace_time_zone(NEW_YORK).dt.convert_time_zone("UTC"))
    raise ValueError(f"unknown session kind {session!r}")


def session_length(session: str) -> pl.Expr:
    """Nominal length of the session, to tell a finished daily bar from one still in progress."""
    return pl.duration(hours=6, minutes=30) if session == EQUITY else pl.duration(days=1)
