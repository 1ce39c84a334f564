"""Which minutes a venue is expected to deliver: its session calendar as a sorted minute grid.

crypto  every minute (24/7)
fx      Sunday 17:00 -> Friday 17:00 America/New_York, DST-aware
equity  the exchange's regular minutes, holidays and early closes included, from the maintained
        ``exchange_calendars`` package (no hand-written holiday lists)
Bars are labelled by their open time, so an equity session 09:30-16:00 expects 09:30 ... 15:59.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import polars as pl

from core.formats.frame import TS_TYPE
from core.sessions import CRYPTO, EQUITY, FX, NEW_YORK

DEFAULT_VENUE_CALENDARS: dict[str, str] = {"nyse": "XNYS", "nasdaq": "XNAS", "arca": "XNYS", "cboe": "XNYS"}
DEFAULT_EQUITY_CALENDAR = "XNYS"


def calendar_of(venue: str, overrides: Mapping[str, str] | None = None) -> str:
    return {**DEFAULT_VENUE_CALENDARS, **(overrides or {})}.get(venue, DEFAULT_EQUITY_CALENDAR)


@lru_cache(maxsize=16)
def _exchange_calendar(code: str, first: date, last: date) -> Any:
    import exchange_calendars  # slow import (~1 s): only when an equity venue is validated

    return exchange_calendars.get_calendar(code, start=first.isoformat(), end=last.isoformat())


def _all_minutes(start: datetime, end: datetime) -> pl.Series:
    if end <= start:
        return pl.Series("ts", [], TS_TYPE)
    return pl.datetime_range(
        start, end - timedelta(minutes=1), "1m", time_unit="ms", time_zone="UTC", eager=True
    ).alias("ts")


def expected_minutes(session: str, start: datetime, end: datetime, calendar: str | None = None) -> pl.Series:
    """Sorted UTC minutes in ``[start, end)`` the session expects a bar for (``start``/``end`` whole minutes, UTC)."""
    if session == CRYPTO:
        return _all_minutes(start, end)
    if session == FX:
        grid = _all_minutes(start, end)
        local = grid.dt.convert_time_zone(NEW_YORK)
        weekday, hour = local.dt.weekday(), local.dt.hour()  # Mon=1 .. Sun=7
        closed = (weekday == 6) | ((weekday == 5) & (hour >= 17)) | ((weekday == 7) & (hour < 17))
        return grid.filter(~closed)
    if session == EQUITY:
        if end <= start:
            return pl.Series("ts", [], TS_TYPE)
        # Bounds in whole years so one cached calendar serves every range of a run.
        cal = _exchange_calendar(
            calendar or DEFAULT_EQUITY_CALENDAR, date(start.year - 1, 1, 1), date(end.year + 1, 12, 31)
        )
        first = max(start, cal.first_minute.to_pydatetime())
        last = min(end - timedelta(minutes=1), cal.last_minute.to_pydatetime())
        if last < first:
            return pl.Series("ts", [], TS_TYPE)
        minutes = cal.minutes_in_range(first, last)
        return pl.Series("ts", minutes.asi8 // 1_000_000, pl.Int64).cast(TS_TYPE)
    raise ValueError(f"unknown session kind {session!r}")
