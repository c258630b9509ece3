"""Behaviour shift: is the trader's activity and size today unusual *given its state*?

A change of behaviour (bigger orders, more round trips) shows first in a handful of daily
activity and size columns, the fingerprint. Tested raw, they are noisy: the same trader trades
up to 2.5x bigger for a few days after a large loss (1.3x on a winning streak), so a 5-session
mean of log order size varies ~1.5x more than independent days would (sd 0.19 vs 0.12 for a
tilt-prone simulated trader), and a two-sample KS test on 5 rows cannot tell a new habit from a
bad week.

So each fingerprint column (log scale) is first explained, on the reference rows, by a linear
model of what the trader's state was (known at the previous close: large loss, loss streak of 3+,
winning streak of 4+, time since the last large loss, large losses in 5 days, a losing day) and
what its market did that day (``mkt_vol_regime``). Residuals of that model are close to
independent (5-session sd 0.07 for the same trader), and a persistent change moves their mean.

The test: for each window length ``w``, z = mean of the last ``w`` finite current residuals /
the standard deviation of the means of every ``w``-row window of the reference residuals (a
threshold learned from the reference itself, so what autocorrelation is left is priced in);
two-sided Normal p-value. The p-values join the KS tests of ``drift.py`` in one
Benjamini-Hochberg family.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr

from risk_dagster.monitoring.rows import Rows, as_rows, concat

# How the trader trades each day: a change of behaviour shows first in activity and size, which
# the champion may not have selected, so these are tested for every trader.
FINGERPRINT = ("n_fills_d0", "n_orders_d0", "avg_order_notional_d0", "notional_d0",
               "max_position_notional_d0", "n_round_trips_d0")

# The state at the previous close (lagged one row) and the market of the day (same row).
_LAGGED = ("large_loss_d0", "loss_streak", "win_streak", "days_since_large_loss",
           "large_losses_5d", "net_pnl_d0")
_SAME_DAY = ("mkt_vol_regime",)
STATE_COLUMNS = _LAGGED + _SAME_DAY


def _lagged(values: np.ndarray) -> np.ndarray:
    out = np.empty(len(values))
    out[:1] = np.nan
    out[1:] = values[:-1]
    return out


def state_matrix(rows) -> np.ndarray:
    """Design matrix (n, k) of one trader's rows sorted by date (a frame or ``Rows``):
    intercept, then the state known at the previous row's close and the day's market. Missing
    state columns are left out; missing values (a day off, no history) count as 0 (no event)."""
    n = len(rows)
    cols = [np.ones(n)]
    lag = {c: _lagged(np.asarray(rows[c], dtype=float)) for c in _LAGGED if c in rows}
    if "large_loss_d0" in lag:
        cols.append(np.nan_to_num(lag["large_loss_d0"]))
    if "loss_streak" in lag:
        cols.append((np.nan_to_num(lag["loss_streak"]) >= 3).astype(float))
    if "win_streak" in lag:
        cols.append((np.nan_to_num(lag["win_streak"]) >= 4).astype(float))
    if "days_since_large_loss" in lag:  # halves every session: tilt fades
        cols.append(np.exp(-math.log(2) * np.nan_to_num(lag["days_since_large_loss"], nan=99.0)))
    if "large_losses_5d" in lag:
        cols.append(np.nan_to_num(lag["large_losses_5d"]))
    if "net_pnl_d0" in lag:
        cols.append((np.nan_to_num(lag["net_pnl_d0"]) < 0).astype(float))
    if "mkt_vol_regime" in rows:
        v = np.asarray(rows["mkt_vol_regime"], dtype=float)
        cols.append(np.log(np.where(np.isfinite(v) & (v > 0), v, 1.0)))
    return np.column_stack(cols)


def _log_values(rows, column: str) -> np.ndarray:
    v = np.asarray(rows[column], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(v >= 0, np.log1p(v), np.nan)


@dataclass(frozen=True)
class BehaviourBaseline:
    """Per fingerprint column: the state model's coefficients and, per window length, the
    standard deviation of the window means of the reference residuals."""

    coef: dict[str, np.ndarray]
    window_sd: dict[tuple[str, int], float]
    n_reference: int


def fit_baseline(reference, columns, windows, min_rows: int) -> BehaviourBaseline:
    """Fit the state model of each column on the reference rows (one trader, sorted by date; a
    frame or ``Rows``). A column with fewer than ``min_rows`` finite values, or a window without
    5 reference windows, is not tested."""
    reference = as_rows(reference, [*columns, *STATE_COLUMNS])
    x = state_matrix(reference)
    coef, window_sd = {}, {}
    for c in columns:
        if c not in reference:
            continue
        y = _log_values(reference, c)
        ok = np.isfinite(y)
        if ok.sum() < max(min_rows, x.shape[1] * 5):
            continue
        b = np.linalg.lstsq(x[ok], y[ok], rcond=None)[0]
        resid = (y - x @ b)[ok]
        coef[c] = b
        for w in windows:
            means = np.convolve(resid, np.ones(w) / w, mode="valid")
            sd = float(np.std(means, ddof=1)) if len(means) >= 5 else math.nan
            if np.isfinite(sd) and sd > 0:
                window_sd[(c, w)] = sd
    return BehaviourBaseline(coef=coef, window_sd=window_sd, n_reference=len(reference))


def shift_tests(baseline: BehaviourBaseline, reference, current, windows,
                min_current: int) -> pd.DataFrame:
    """Shift test of each fitted column over the last ``w`` finite current rows, for each ``w``.

    reference and current: one trader's rows, sorted by date, current right after reference
    (the first current row's state is the last reference row's); frames or ``Rows``. Out:
    columns ``column, window, z, p_value`` (z > 0: more/bigger than the state explains).
    """
    return pd.DataFrame(shift_test_rows(baseline, reference, current, windows, min_current),
                        columns=["column", "window", "z", "p_value"])


def shift_test_rows(baseline: BehaviourBaseline, reference, current, windows,
                    min_current: int) -> list[dict]:
    """``shift_tests`` as a list of row dicts (what ``drift_scores`` builds its table from)."""
    if isinstance(reference, Rows) and isinstance(current, Rows):
        rows = concat(reference.tail(1), current)
    else:
        rows = as_rows(pd.concat([reference.tail(1), current], ignore_index=True),
                       [*baseline.coef, *STATE_COLUMNS])
    x = state_matrix(rows)[1:]
    out = []
    for c, b in baseline.coef.items():
        if c not in current:
            continue
        resid = _log_values(rows, c)[1:] - x @ b
        resid = resid[np.isfinite(resid)]
        for w in windows:
            sd = baseline.window_sd.get((c, w))
            if sd is None or len(resid) < max(w, min_current):
                continue
            z = float(resid[-w:].mean() / sd)
            out.append({"column": c, "window": w, "z": z, "p_value": float(2 * ndtr(-abs(z)))})
    return out
