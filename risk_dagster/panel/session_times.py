"""Session open/close per trade date, as UTC epoch microseconds, for joins in DuckDB and numpy.

Fills on a date that is not a session of the calendar (should not happen, but a broker export
may carry a holiday adjustment) get NaN bounds, so the session-relative features of that day are
NaN rather than computed against a wrong session.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

from risk_dagster.core.calendar import is_session, session_bounds

MICROS_PER_SECOND = 1_000_000


def session_table(calendar: str, dates: Iterable[dt.date]) -> pd.DataFrame:
    """``trade_date`` (python date), ``open_us``, ``close_us`` (float UTC epoch microseconds).

    ``open_us``/``close_us`` come from ``session_bounds`` (for 24/7 venues the UTC day); they are
    NaN for a date that is not a session.
    """
    days = sorted({pd.Timestamp(d).date() for d in dates})
    frame = pd.DataFrame({"trade_date": days, "open_us": np.nan, "close_us": np.nan})
    valid = [d for d in days if is_session(calendar, d)]
    if valid:
        opens, closes = session_bounds(calendar, pd.DatetimeIndex(valid))
        mask = frame["trade_date"].isin(valid).to_numpy()
        frame.loc[mask, "open_us"] = _epoch_us(opens)
        frame.loc[mask, "close_us"] = _epoch_us(closes)
    return frame


def _epoch_us(index: pd.DatetimeIndex) -> np.ndarray:
    # as_unit keeps this independent of whether the calendar hands back ns or us timestamps.
    return index.tz_convert("UTC").as_unit("us").asi8.astype("float64")


def session_fraction(t_us: np.ndarray, open_us: np.ndarray, close_us: np.ndarray) -> np.ndarray:
    """Position of each instant within its session, 0 at the open and 1 at the close (clipped:
    a pre-market fill counts as 0, an after-hours fill as 1). NaN when the bounds are unknown."""
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = (t_us - open_us) / (close_us - open_us)
    return np.clip(frac, 0.0, 1.0)
