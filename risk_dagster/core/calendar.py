"""Trading days: NYSE (or any exchange-calendars code) sessions, or every day for 24/7 venues."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import exchange_calendars as xcals
import numpy as np
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


@lru_cache(maxsize=8)
def opens_overnight(code: str) -> bool:
    """True for a calendar whose sessions open the evening before their date (CME Globex: the
    session of D opens at 17:00 Chicago on the previous trading day)."""
    if code == CALENDAR_24_7:
        return False
    cal = _calendar(code)
    tz = str(cal.tz)
    sample = cal.schedule.iloc[-260:]
    local_open = pd.DatetimeIndex(sample["open"]).tz_convert(tz).tz_localize(None).normalize()
    return bool((local_open < pd.DatetimeIndex(sample.index)).any())


def fill_session_dates(ts_utc: pd.Series, code: str) -> tuple[pd.Series, np.ndarray]:
    """Session date of each UTC time (naive midnight timestamps) and a mask of the times that
    fall outside the calendar's trading hours.

    An overnight calendar (CME Globex) dates a time by the session it trades in, or the next one
    when the market is closed (exchange-calendars' ``minute_to_session(ts, direction="next")``):
    Sunday 18:00 Chicago belongs to Monday. Any other calendar dates a time by its local date in
    the calendar's timezone (UTC for 24/7); its mask is all False (pre- and after-market fills of
    an equity venue keep their day).
    """
    ts = pd.Series(ts_utc)
    if not opens_overnight(code):
        local = ts.dt.tz_convert(calendar_timezone(code)).dt.tz_localize(None)
        return local.dt.normalize(), np.zeros(len(ts), dtype=bool)
    cal = _calendar(code)
    closes = pd.DatetimeIndex(cal.schedule["close"]).as_unit("us").asi8
    opens = pd.DatetimeIndex(cal.schedule["open"]).as_unit("us").asi8
    t = pd.DatetimeIndex(ts).as_unit("us").asi8
    idx = np.searchsorted(closes, t, side="right")  # a close minute is the next open
    if len(t) and (idx.max() >= len(closes) or t.min() < opens[0]):
        raise ValueError(f"times outside the {code} calendar's range "
                         f"({cal.first_session.date()} .. {cal.last_session.date()})")
    dates = pd.Series(pd.DatetimeIndex(cal.sessions[idx]).tz_localize(None), index=ts.index)
    return dates, t < opens[idx]
