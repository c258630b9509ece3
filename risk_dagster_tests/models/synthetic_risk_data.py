"""Synthetic features and labels for the model tests and the training bench.

Each trader has AR(1) latent signals; the chance of a large loss tomorrow is
sigmoid(base_trader + 1.6 f1 - 1.2 f2 + 0.9 f3), so three features (and trader identity) carry
real skill and the rest are noise. Raw features are on trader-specific scales (offset and scale
per trader), which is what the pooled model's per-trader normalisation must undo. About 8% of
roster days are not traded: their net_pnl_d0 is NaN and label_date jumps to the next traded day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SIGNAL = {"f1": 1.6, "f2": -1.2, "f3": 0.9}


def _ar1(rng: np.random.Generator, n: int, k: int, phi: float = 0.7) -> np.ndarray:
    out = np.zeros((n, k))
    eps = rng.normal(size=(n, k)) * np.sqrt(1 - phi**2)
    for t in range(1, n):
        out[t] = phi * out[t - 1] + eps[t]
    return out


def _one_trader(rng, tid: str, dates: pd.DatetimeIndex, n_features: int):
    n = len(dates)
    z = _ar1(rng, n, n_features)
    base = rng.normal(-2.3, 0.5)
    logit = base + sum(w * z[:, i] for i, w in enumerate(SIGNAL.values()))
    p = 1 / (1 + np.exp(-logit))
    sigma = rng.uniform(500, 3000)
    mu = rng.normal(0.1, 0.05) * sigma
    traded = rng.random(n) > 0.08
    traded[0] = True
    # P&L realised on day t depends on the signals of the previous traded day.
    loss = np.zeros(n, dtype=bool)
    pnl = np.full(n, np.nan)
    threshold = -1.5 * sigma
    prev = None
    for t in range(n):
        if not traded[t]:
            continue
        if prev is None:
            pnl[t] = rng.normal(mu, sigma * 0.5)
        elif rng.random() < p[prev]:
            pnl[t] = threshold - abs(rng.normal(0, sigma))
            loss[t] = True
        else:
            pnl[t] = max(rng.normal(mu, sigma * 0.6), threshold + 1)
        prev = t
    s = pd.Series(pnl)
    traded_pnl = s.dropna()
    cum = s.fillna(0).cumsum()
    streak = np.zeros(n)
    for t in range(1, n):
        streak[t] = (streak[t - 1] + 1 if pnl[t] < 0 else 0) if traded[t] else streak[t - 1]
    offsets = rng.normal(0, 5, n_features)
    scales = rng.uniform(0.5, 20, n_features)
    feats = pd.DataFrame(z * scales + offsets, columns=[f"f{i + 1}" for i in range(n_features)])
    feats.insert(0, "trader_id", tid)
    feats.insert(0, "trade_date", dates.date)
    feats["net_pnl_d0"] = pnl
    feats["loss_streak"] = streak
    feats["drawdown_21d"] = (cum.rolling(21, min_periods=1).max() - cum).to_numpy()
    vol = traded_pnl.rolling(21, min_periods=5).std().reindex(s.index).ffill()
    feats["pnl_vol_21d"] = vol.to_numpy()
    feats["large_losses_5d"] = pd.Series(loss.astype(float)).rolling(5, min_periods=1).sum().values
    feats["traded_d0"] = traded.astype(float)
    # Labels: next traded session after D.
    idx = np.arange(n)
    nxt = pd.Series(np.where(traded, idx, np.nan)).shift(-1)[::-1].bfill()[::-1].to_numpy()
    ok = ~np.isnan(nxt)
    j = np.where(ok, nxt, 0).astype(int)
    labels = pd.DataFrame({
        "trade_date": dates.date, "trader_id": tid,
        "label_date": pd.Series(np.where(ok, dates[j].date, None)),
        "next_net_pnl": np.where(ok, pnl[j], np.nan),
        "large_loss": pd.array(np.where(ok, loss[j], 0).astype(int), dtype="Int8"),
        "large_loss_threshold": threshold,
        "label_status": np.where(ok, "complete", "pending"),
    })
    labels.loc[~ok, "large_loss"] = pd.NA
    return feats, labels


def make_synthetic(n_traders: int = 3, n_days: int = 500, n_features: int = 30,
                   seed: int = 0, start: str = "2023-01-02") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(features, labels) frames following the trader_features / risk_labels contracts."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(start, periods=n_days)
    parts = [_one_trader(rng, f"T{i + 1:04d}", dates, n_features) for i in range(n_traders)]
    features = pd.concat([p[0] for p in parts], ignore_index=True)
    labels = pd.concat([p[1] for p in parts], ignore_index=True)
    return features, labels
