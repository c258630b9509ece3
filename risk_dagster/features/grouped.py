"""Set-wise window operations over each trader's own panel rows.

``TraderRows`` holds the trader-day panel sorted by (trader_id, trade_date) with a RangeIndex, so
that each trader's rows are one contiguous block. Every helper is causal: the value at a row uses
only that trader's rows at the same or earlier dates, which is what makes the features
point-in-time. Two kinds of window:

- session windows (``roll``, ``ewm``): over the trader's roster rows; NaN (non-traded) values are
  skipped by the statistic, and ``min_periods`` counts the non-NaN values;
- traded-day windows (``td_roll``, ``td_ewm``, ``td_prior``): over the trader's last ``w`` traded
  rows; on a non-traded row the value is the one as of the trader's last traded row before it.

No Python loop runs per trader or per row: windows are pandas rolling aggregations with group-aware
bounds, shifts and forward fills are numpy over the whole frame, and the EWMA recursion loops over
positions in the history, vectorized across traders.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from pandas.api.indexers import BaseIndexer

Stat = str | Callable[..., pd.Series]


def group_starts(codes: np.ndarray) -> np.ndarray:
    """For each element of a sorted code array, the position where its group begins."""
    n = len(codes)
    new = np.ones(n, dtype=bool)
    new[1:] = codes[1:] != codes[:-1]
    return np.maximum.accumulate(np.where(new, np.arange(n), 0)).astype(np.int64)


class _GroupWindow(BaseIndexer):
    """Trailing windows of ``window`` rows (None: expanding) that never cross a group start.

    With non-decreasing bounds, pandas restarts its online accumulators at each group start, so
    a row's value depends only on its own group's rows up to it."""

    def __init__(self, starts: np.ndarray, window: int | None):
        super().__init__()
        self.starts, self.window = starts, window

    def get_window_bounds(self, num_values=0, min_periods=None, center=None, closed=None,
                          step=None):
        end = np.arange(1, num_values + 1, dtype=np.int64)
        if self.window is None:
            return self.starts.copy(), end
        return np.maximum(end - self.window, self.starts), end


def _window_stat(x: np.ndarray, starts: np.ndarray, w: int | None, stat: Stat,
                 min_periods: int) -> np.ndarray:
    win = pd.Series(x, dtype=float).rolling(_GroupWindow(starts, w), min_periods=min_periods)
    out = getattr(win, stat)() if isinstance(stat, str) else stat(win)
    return out.to_numpy(dtype=float)


def _ffill(x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    idx = np.arange(len(x))
    last = np.maximum.accumulate(np.where(np.isnan(x), -1, idx))
    return np.where(last >= starts, x[np.maximum(last, 0)], np.nan)


def _shift(x: np.ndarray, starts: np.ndarray, k: int) -> np.ndarray:
    src = np.arange(len(x)) - k
    return np.where(src >= starts, x[np.maximum(src, 0)], np.nan)


def _ewm(x: np.ndarray, starts: np.ndarray, span: float) -> np.ndarray:
    """EWMA (pandas adjust=True, ignore_na=True) restarting at each group start.

    Laid out as a (group x position) matrix so the recursion loops over positions (at most the
    longest history), vectorized over groups; NaN inputs keep the previous value."""
    out = np.full(len(x), np.nan)
    valid = np.flatnonzero(~np.isnan(x))
    if len(valid) == 0:
        return out
    vs = group_starts(starts[valid])  # groups of the valid elements
    pos = np.arange(len(valid)) - vs
    grp = np.cumsum(np.r_[True, vs[1:] != vs[:-1]]) - 1
    mat = np.full((grp[-1] + 1, pos.max() + 1), np.nan)
    mat[grp, pos] = x[valid]
    r = 1.0 - 2.0 / (span + 1.0)
    num = np.zeros(mat.shape[0])
    den = np.zeros(mat.shape[0])
    res = np.empty_like(mat)
    for j in range(mat.shape[1]):
        num = mat[:, j] + r * num
        den = 1.0 + r * den
        res[:, j] = num / den
    out[valid] = res[grp, pos]
    return _ffill(out, starts)


class TraderRows:
    """The panel sorted by trader then date, with per-row group codes and traded masks."""

    def __init__(self, panel: pd.DataFrame):
        frame = panel.copy()
        frame["_date"] = pd.to_datetime(frame["trade_date"])
        frame = frame.sort_values(["trader_id", "_date"], kind="stable").reset_index(drop=True)
        if frame.duplicated(["trader_id", "_date"]).any():
            raise ValueError("panel has duplicate (trade_date, trader_id) rows")
        self.frame = frame
        self.n = len(frame)
        self.codes = pd.factorize(frame["trader_id"], sort=True)[0]
        self.starts = group_starts(self.codes)
        self.traded = frame["traded"].fillna(False).to_numpy(dtype=bool)
        dates = np.sort(frame["_date"].unique())
        self.dates = pd.DatetimeIndex(dates)
        # Global session index of each row's date: counts sessions present in the panel.
        self.session = np.searchsorted(dates, frame["_date"].to_numpy())
        self._t_idx = np.flatnonzero(self.traded)
        self._t_codes = self.codes[self._t_idx]
        self._t_starts = group_starts(self._t_codes)
        self._last_traded = self._last_traded_position()

    # -- columns ---------------------------------------------------------------------------
    def col(self, name: str) -> np.ndarray:
        """Column ``name`` as float (NaN where missing)."""
        return pd.to_numeric(self.frame[name], errors="coerce").to_numpy(dtype=float)

    def traded_col(self, name: str) -> np.ndarray:
        """Column ``name`` with non-traded rows set to NaN (they carry no activity)."""
        return np.where(self.traded, self.col(name), np.nan)

    # -- session windows ---------------------------------------------------------------------
    def roll(self, x: np.ndarray, w: int, stat: Stat = "mean", min_periods: int = 1) -> np.ndarray:
        """``stat`` over the trader's last ``w`` roster rows (including the current one)."""
        return _window_stat(x, self.starts, w, stat, min_periods)

    def expanding(self, x: np.ndarray, stat: Stat = "mean", min_periods: int = 1) -> np.ndarray:
        return _window_stat(x, self.starts, None, stat, min_periods)

    def shift(self, x: np.ndarray, k: int = 1) -> np.ndarray:
        """The value ``k`` roster rows earlier for the same trader (NaN before the first)."""
        return _shift(x, self.starts, k)

    def ffill(self, x: np.ndarray) -> np.ndarray:
        return _ffill(x, self.starts)

    def cumsum(self, x: np.ndarray) -> np.ndarray:
        return pd.Series(x).groupby(self.codes, sort=True).cumsum().to_numpy(dtype=float)

    # -- traded-day windows ------------------------------------------------------------------
    def _last_traded_position(self) -> np.ndarray:
        """Row position of the trader's last traded row at or before each row (-1 if none)."""
        filled = self.ffill(np.where(self.traded, np.arange(self.n, dtype=float), np.nan))
        return np.where(np.isnan(filled), -1, filled).astype(np.int64)

    def carry(self, on_traded: np.ndarray) -> np.ndarray:
        """Spread values computed on the traded rows (in traded order) to every row: a
        non-traded row takes the value of the trader's last traded row before it."""
        full = np.full(self.n, np.nan)
        full[self._t_idx] = on_traded
        lt = self._last_traded
        return np.where(lt >= 0, full[np.maximum(lt, 0)], np.nan)

    def td_series(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(values on traded rows, their trader codes) for custom traded-day statistics."""
        return x[self._t_idx], self._t_codes

    def td_stat(self, x: np.ndarray, w: int | None, stat: Stat = "mean",
                min_periods: int = 1) -> np.ndarray:
        """``stat`` over the trader's last ``w`` traded rows up to and including each traded
        row (``w=None``: all of them); returned in traded-row order."""
        return _window_stat(x[self._t_idx], self._t_starts, w, stat, min_periods)

    def td_roll(self, x: np.ndarray, w: int | None, stat: Stat = "mean",
                min_periods: int = 1) -> np.ndarray:
        """Traded-day window statistic as of each row (including the row if it is traded)."""
        return self.carry(self.td_stat(x, w, stat, min_periods))

    def _before(self, incl: np.ndarray) -> np.ndarray:
        """From a per-traded-row value that includes the row, the value as of the trader's
        traded rows strictly before each row's date."""
        full_excl = np.full(self.n, np.nan)
        full_excl[self._t_idx] = _shift(incl, self._t_starts, 1)
        return np.where(self.traded, full_excl, self.carry(incl))

    def td_prior(self, x: np.ndarray, w: int | None, stat: Stat = "mean",
                 min_periods: int = 1) -> np.ndarray:
        """Traded-day window statistic over traded rows strictly before each row's date: the
        trader's baseline against which the current day is compared."""
        return self._before(self.td_stat(x, w, stat, min_periods))

    def td_ewm(self, x: np.ndarray, span: float) -> np.ndarray:
        """EWMA (span in traded days) over traded rows, carried to non-traded rows."""
        return self.carry(_ewm(x[self._t_idx], self._t_starts, span))

    def td_shift(self, x: np.ndarray) -> np.ndarray:
        """The value on the trader's previous traded row before each row's date."""
        return self._before(x[self._t_idx])

    def td_slope(self, y: np.ndarray, w: int, min_periods: int = 5) -> np.ndarray:
        """OLS slope of ``y`` per traded day over the last ``w`` traded rows (units of y per
        traded day), from rolling means of t, y, t*y, t^2 over the rows where y is known."""
        ys = y[self._t_idx]
        t = np.arange(len(ys), dtype=float) - self._t_starts  # traded-day number, from 0
        t = np.where(np.isnan(ys), np.nan, t)
        mt, my, mty, mtt = (_window_stat(v, self._t_starts, w, "mean", min_periods)
                            for v in (t, ys, t * ys, t * t))
        var_t = mtt - mt * mt
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = np.where(var_t > 1e-9, (mty - mt * my) / var_t, np.nan)
        return self.carry(slope)

    # -- per-date (firm-wide) ----------------------------------------------------------------
    def by_date(self, x: np.ndarray, stat: str) -> np.ndarray:
        """Cross-trader ``stat`` of ``x`` per panel date (NaN skipped), indexed by session."""
        s = pd.Series(x).groupby(self.session, sort=True).agg(stat)
        out = np.full(len(self.dates), np.nan)
        out[s.index.to_numpy()] = s.to_numpy(dtype=float)
        return out

    def rank_in_date(self, x: np.ndarray) -> np.ndarray:
        """Percentile rank (0..1] of ``x`` among the traders of the same date (NaN skipped)."""
        return pd.Series(x).groupby(self.session).rank(pct=True).to_numpy(dtype=float)

    def at_date(self, per_date: np.ndarray) -> np.ndarray:
        """Per-date values spread to the rows of that date."""
        return per_date[self.session]


def safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b, NaN where b is 0 or NaN (a ratio to nothing is unknown, not 0 or inf)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((b != 0) & ~np.isnan(b), a / b, np.nan)


def streak(flag: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Length of the run of True ending at each element, restarting at each new group."""
    flag = flag.astype(bool)
    new_group = np.r_[True, codes[1:] != codes[:-1]]
    change = new_group | np.r_[True, flag[1:] != flag[:-1]]
    run_id = np.cumsum(change)
    run_len = pd.Series(np.ones(len(flag))).groupby(run_id).cumsum().to_numpy()
    return np.where(flag, run_len, 0.0)
