"""Synthetic per-trader feature panels for the drift tests and benches.

Each feature of each trader is a stationary AR(1) series (unit variance) with persistence drawn
from ``PHIS``: 0 for day-level quantities, 0.9-0.97 for rolling aggregates like 21-day volatility,
with Student-t innovations (fat tails). ``p_large_loss`` is a logistic function of the first three
features, so it inherits their persistence. A change is a level shift of ``shift_sd`` stationary
standard deviations and/or a scale change of ``scale`` on chosen features, from ``change_date``
on, for the ``affected`` traders.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

PHIS = (0.0, 0.3, 0.6, 0.9, 0.97)


def _ar1(rng: np.random.Generator, n: int, phi: float, df: float) -> np.ndarray:
    eps = rng.standard_t(df, size=n) / np.sqrt(df / (df - 2))  # unit variance innovations
    x = np.empty(n)
    x[0] = eps[0]  # stationary start (unit variance)
    scale = np.sqrt(1 - phi**2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + scale * eps[t]
    return x


def synthetic_features(n_traders: int = 10, n_sessions: int = 500, n_features: int = 30,
                       seed: int = 0, start: dt.date = dt.date(2024, 1, 2),
                       change_date: dt.date | None = None, shift_features: tuple[str, ...] = (),
                       shift_sd: float = 0.0, scale: float = 1.0,
                       affected: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Features frame ``trade_date, trader_id, f000.., p_large_loss`` on business days.

    Out: n_traders x n_sessions rows. Feature ``f{j:03d}`` has persistence ``PHIS[j % 5]``.
    With ``change_date``, rows of ``affected`` traders (all when None) dated >= change_date get
    ``value * scale + shift_sd`` on ``shift_features`` (values are unit-variance, so shift_sd is
    in standard deviations).
    """
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(start, periods=n_sessions).date
    names = [f"f{j:03d}" for j in range(n_features)]
    frames = []
    for i in range(n_traders):
        tid = f"T{i + 1:04d}"
        data = {n: _ar1(rng, n_sessions, PHIS[j % len(PHIS)], df=5.0) for j, n in enumerate(names)}
        frame = pd.DataFrame({"trade_date": dates, "trader_id": tid, **data})
        if change_date is not None and (affected is None or tid in affected):
            after = frame["trade_date"] >= change_date
            for f in shift_features:
                frame.loc[after, f] = frame.loc[after, f] * scale + shift_sd
        logit = -2.2 + 0.6 * frame[names[0]] + 0.5 * frame[names[1]] + 0.4 * frame[names[min(3, n_features - 1)]]
        frame["p_large_loss"] = 1 / (1 + np.exp(-logit))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
