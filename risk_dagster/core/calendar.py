"""Trading days: NYSE (or any exchange-calendars code) sessions, or every day for 24/7 venues."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import exchange_calendars as xcals
import pandas as pd

from risk_dagster.core.settings import CALENDAR_24_7


@lru_cache(maxsize=8)
def _calendar(code: str) -> xcals.ExchangeCalendar:
    return xcals.get_calendar(code, start="2000-01-01")


def calendar_timezone(code: str) -> str:
    """The timezone in which session dates are counted (UTC for 24/7 venues)."""
    return "UTC" if code == CALENDAR_24_7 else str(_calendar(code).tz)


def sessions(code: str, start: dt.date, end: dt.date) -> pd.DatetimeIndex:
    """Trading sessions from ``start`` to ``end`` inclusive, as naive midnight timestamps."""
    if code == CALENDAR_24_7:
        return pd.date_range(start, end, freq="D")
    cal = _calendar(code)
    return pd.DatetimeIndex(cal.sessions_in_range(pd.Timestamp(start), pd.Timestamp(end))).tz_localize(None)


def is_session(code: str, day: dt.date) -> bool:
    return code == CALENDAR_24_7 or _calendar(code).is_session(pd.Timestamp(day))


def session_bounds(code: str, days: pd.DatetimeIndex) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """Open and close (UTC) of each session; a 24/7 day runs from 00:00 to 24:00 UTC."""
    if code == CALENDAR_24_7:
        opens = pd.DatetimeIndex(days).tz_localize("UTC")
        return opens, opens + pd.Timedelta(days=1)
    cal = _calendar(code)
    opens = pd.DatetimeIndex(cal.schedule.loc[days, "open"])
    closes = pd.DatetimeIndex(cal.schedule.loc[days, "close"])
    return opens, closes


def previous_session(code: str, day: dt.date) -> dt.date:
    """The last session strictly before ``day``."""
    if code == CALENDAR_24_7:
        return day - dt.timedelta(days=1)
    cal, ts = _calendar(code), pd.Timestamp(day)
    if cal.is_session(ts):
        return cal.previous_session(ts).date()
    return cal.date_to_session(ts, direction="previous").date()


def partition_cron(code: str) -> str:
    """Cron of the date partitions: weekdays for an exchange (holidays are closed partitions),
    every day for a 24/7 venue."""
    return "0 0 * * *" if code == CALENDAR_24_7 else "0 0 * * 1-5"
