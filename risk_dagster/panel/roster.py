"""Who is on the roster each session, point in time.

A trader is on the roster at session D from their first fill date while their last fill on or
before D is at most ``max_gap_sessions`` sessions before D. Only activity up to D matters, so the
roster at D never changes when later fills arrive or are corrected.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

ROSTER_MAX_GAP_SESSIONS = 20


def roster(
    activity_dates: pd.DataFrame,
    sessions: pd.DatetimeIndex,
    *,
    max_gap_sessions: int = ROSTER_MAX_GAP_SESSIONS,
) -> pd.DataFrame:
    """(trade_date, trader_id) for every trader on the roster at each session in ``sessions``.

    ``activity_dates``: rows (trade_date, trader_id) of days with fills (duplicates allowed; a
    date that is not a session counts on the last session before it). Activity before
    ``sessions[0]`` counts as if it were the session just before it, so rows are exact from
    ``sessions[max_gap_sessions]`` on, or from the start when no earlier activity exists: pass
    ``max_gap_sessions`` extra sessions of history and drop them (``build_trader_day_panel`` does).
    Returns ``trade_date`` (python date) and ``trader_id``, sorted by date then trader.
    """
    days = pd.DatetimeIndex(sessions).normalize()
    if len(activity_dates) == 0 or len(days) == 0:
        return pd.DataFrame({"trade_date": pd.Series([], dtype=object),
                             "trader_id": pd.Series([], dtype=object)})
    act = pd.DataFrame({
        "trader_id": activity_dates["trader_id"].to_numpy(),
        "pos": days.searchsorted(pd.to_datetime(activity_dates["trade_date"]), side="right") - 1,
    })
    act = act[act["pos"] < len(days)].drop_duplicates().sort_values(["trader_id", "pos"])
    trader, pos = act["trader_id"].to_numpy(), act["pos"].to_numpy()
    # Each activity day keeps the trader on for max_gap sessions, until the next activity day.
    same_next = np.r_[trader[1:] == trader[:-1], False]
    next_pos = np.where(same_next, np.r_[pos[1:], 0], np.iinfo(np.int64).max)
    first = np.maximum(pos, 0)
    last = np.minimum(np.minimum(pos + max_gap_sessions, next_pos - 1), len(days) - 1)
    length = np.maximum(last - first + 1, 0)
    rows = np.repeat(np.arange(len(first)), length)
    offset = np.arange(len(rows)) - np.repeat(np.cumsum(length) - length, length)
    out = pd.DataFrame({
        "trade_date": days[first[rows] + offset].date,
        "trader_id": trader[rows],
    })
    return out.sort_values(["trade_date", "trader_id"], ignore_index=True)


def lookback_start(calendar_sessions: pd.DatetimeIndex, first: dt.date,
                   max_gap_sessions: int = ROSTER_MAX_GAP_SESSIONS) -> dt.date:
    """The session ``max_gap_sessions`` sessions before ``first`` (or the earliest available)."""
    days = pd.DatetimeIndex(calendar_sessions)
    i = int(days.searchsorted(pd.Timestamp(first)))
    return days[max(i - max_gap_sessions, 0)].date()
