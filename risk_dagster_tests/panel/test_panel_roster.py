"""roster: from the first fill date while the last fill is at most 20 sessions back."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from risk_dagster.core.calendar import sessions
from risk_dagster.panel import roster

DAYS = sessions("XNYS", dt.date(2024, 1, 2), dt.date(2024, 3, 29))


def _activity(*pairs: tuple[str, int]) -> pd.DataFrame:
    return pd.DataFrame({"trader_id": [t for t, _ in pairs],
                         "trade_date": [DAYS[i].date() for _, i in pairs]})


def _days_of(frame: pd.DataFrame, trader: str) -> list[int]:
    dates = pd.DatetimeIndex(pd.to_datetime(frame.loc[frame["trader_id"] == trader, "trade_date"]))
    return list(DAYS.get_indexer(dates))


def test_on_from_first_fill_until_twenty_sessions_after_the_last():
    out = roster(_activity(("A", 3), ("A", 10), ("B", 30), ("B", 30)), DAYS)
    assert _days_of(out, "A") == list(range(3, 31))  # last fill at 10, on through 10 + 20
    assert _days_of(out, "B") == list(range(30, 51))
    assert out["trade_date"].map(type).eq(dt.date).all()
    assert list(out.columns) == ["trade_date", "trader_id"]
    assert not out.duplicated().any()


def test_gap_longer_than_the_limit_drops_and_readds():
    out = roster(_activity(("A", 0), ("A", 30)), DAYS, max_gap_sessions=5)
    assert _days_of(out, "A") == [*range(0, 6), *range(30, 36)]


def test_activity_before_the_window_counts_as_just_before_it():
    window = DAYS[20:]
    before = _activity(("A", 0), ("B", 19))
    out = roster(before, window)
    dates = pd.DatetimeIndex(pd.to_datetime(out.loc[out["trader_id"] == "B", "trade_date"]))
    # B's last fill is at session 19: on through 39.
    assert list(window.get_indexer(dates) + 20) == list(range(20, 40))
    # A's fill (session 0) also counts as session 19, which only matters before window[20]:
    # from there on the roster is exact and A is off it.
    assert _days_of(out, "A") == list(range(20, 40))
