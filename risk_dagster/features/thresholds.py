"""Point-in-time large-loss thresholds: what counts as a large loss for a trader at date D.

Method, for each (D, trader), using only data strictly before D:

1. ``trader``: with at least ``min_history`` (40) traded days before D, the threshold is the
   trader's expanding ``quantile`` (10%, linear interpolation) of traded-day net P&L.
2. ``firm_z``: with a shorter history, each trader-day's P&L is first scaled by that trader's
   volatility known the day before (z = net_pnl / std of the trader's earlier traded days, at
   least ``MIN_VOL_DAYS`` of them). The firm-wide ``quantile`` of every z-score of every trader on
   dates strictly before D (at least ``MIN_FIRM_POOL`` of them) times the trader's own volatility
   before D gives the threshold.
3. ``none``: NaN when neither is possible (no or too little history for the trader's volatility,
   or too few firm-wide z-scores before D). A trader with no history at all always gets NaN.

A large loss is a loss, so the threshold is capped at 0 (a trader whose 10% quantile is a gain
gets threshold 0: any losing day is a large loss for them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from risk_dagster.features.grouped import TraderRows

QUANTILE = 0.10
MIN_HISTORY = 40
MIN_VOL_DAYS = 5
MIN_FIRM_POOL = 100


def trader_vol_before(tr: TraderRows, min_days: int = MIN_VOL_DAYS) -> np.ndarray:
    """Std (USD) of the trader's traded-day net P&L on dates strictly before each row."""
    return tr.td_prior(tr.traded_col("net_pnl"), None, "std", min_days)


def _expanding_quantile_before(per_date_values: np.ndarray, sessions: np.ndarray, n_dates: int,
                               quantile: float, min_pool: int) -> np.ndarray:
    """For each date index j, the ``quantile`` of every value whose date index is < j.

    One iteration per date (not per row): the pool stays sorted, each date's values are merged
    in with a stable sort of two sorted runs (linear time)."""
    order = np.argsort(sessions, kind="stable")
    vals, sess = per_date_values[order], sessions[order]
    bounds = np.searchsorted(sess, np.arange(n_dates + 1))
    out = np.full(n_dates, np.nan)
    pool = np.empty(0)
    for j in range(n_dates):
        n = len(pool)
        if n >= min_pool:
            pos = quantile * (n - 1)
            lo = int(np.floor(pos))
            hi = min(lo + 1, n - 1)
            out[j] = pool[lo] + (pos - lo) * (pool[hi] - pool[lo])
        block = np.sort(vals[bounds[j]:bounds[j + 1]])
        if len(block):
            pool = np.sort(np.concatenate([pool, block]), kind="stable")
    return out


def firm_z_quantile_before(tr: TraderRows, vol_before: np.ndarray, quantile: float,
                           min_pool: int = MIN_FIRM_POOL) -> np.ndarray:
    """Per panel date: firm-wide ``quantile`` of z-scores (net P&L / the trader's earlier vol)
    of all trader-days strictly before that date (NaN when fewer than ``min_pool``)."""
    pnl = tr.traded_col("net_pnl")
    with np.errstate(invalid="ignore", divide="ignore"):
        z = pnl / vol_before
    ok = np.isfinite(z) & (vol_before > 0)
    return _expanding_quantile_before(z[ok], tr.session[ok], len(tr.dates), quantile, min_pool)


def thresholds_for(tr: TraderRows, quantile: float = QUANTILE,
                   min_history: int = MIN_HISTORY) -> dict[str, np.ndarray]:
    """Threshold arrays in ``tr``'s row order: threshold (USD), method code (0 none, 1 trader,
    2 firm_z), n_history (traded days before D), trader_vol (USD)."""
    pnl = tr.traded_col("net_pnl")
    n_hist = tr.td_prior(np.ones(tr.n), None, "count")
    n_hist = np.where(np.isnan(n_hist), 0.0, n_hist)  # no earlier traded row: 0 days of history
    own_q = tr.td_prior(pnl, None, lambda w: w.quantile(quantile), min_history)
    vol = trader_vol_before(tr)
    firm_q = tr.at_date(firm_z_quantile_before(tr, vol, quantile))
    fallback = np.where(vol > 0, firm_q * vol, np.nan)
    use_own = (n_hist >= min_history) & ~np.isnan(own_q)
    raw = np.where(use_own, own_q, fallback)
    method = np.where(use_own, 1, np.where(np.isnan(fallback), 0, 2))
    return {"threshold": np.minimum(raw, 0.0), "method": method, "n_history": n_hist,
            "trader_vol": vol}


_METHODS = np.array(["none", "trader", "firm_z"])


def large_loss_thresholds(panel: pd.DataFrame, *, quantile: float = QUANTILE,
                          min_history: int = MIN_HISTORY) -> pd.DataFrame:
    """Large-loss threshold per panel row, from data strictly before the row's date.

    In: the trader-day panel (``trade_date``, ``trader_id``, ``traded``, ``net_pnl``).
    Out: one row per panel row, sorted by (trade_date, trader_id): ``threshold`` (USD, <= 0, NaN
    when unknown), ``method`` ('trader' | 'firm_z' | 'none'), ``n_history`` (traded days before
    D), ``trader_vol`` (USD std of traded-day net P&L before D). See the module docstring.
    """
    tr = TraderRows(panel)
    t = thresholds_for(tr, quantile, min_history)
    out = pd.DataFrame({
        "trade_date": tr.frame["trade_date"].to_numpy(),
        "trader_id": tr.frame["trader_id"].to_numpy(),
        "threshold": t["threshold"],
        "method": _METHODS[t["method"]],
        "n_history": t["n_history"].astype(np.int64),
        "trader_vol": t["trader_vol"],
    })
    return sort_output(out, tr)


def output_order(tr: TraderRows) -> np.ndarray:
    """Positions that put ``tr``'s rows in the output order: (trade_date, trader_id)."""
    return np.lexsort((tr.codes, tr.session))


def sort_output(out: pd.DataFrame, tr: TraderRows) -> pd.DataFrame:
    """``out`` (in ``tr`` row order) sorted by (trade_date, trader_id) with a fresh index."""
    return out.iloc[output_order(tr)].reset_index(drop=True)


def firm_pnl_std_before(tr: TraderRows) -> np.ndarray:
    """Per row: std (USD) of all traders' traded-day net P&L pooled over dates strictly before
    the row's date (NaN with fewer than ``MIN_FIRM_POOL`` values)."""
    pnl = tr.traded_col("net_pnl")
    known = ~np.isnan(pnl)
    x = np.where(known, pnl, 0.0)  # only to sum: the count below excludes unknowns
    per = pd.DataFrame({"n": known.astype(float), "s1": x, "s2": x * x}).groupby(tr.session).sum()
    per = per.reindex(range(len(tr.dates)), fill_value=0.0)
    cum = per.cumsum().shift(1, fill_value=0.0)
    n, s1, s2 = (cum[c].to_numpy() for c in ("n", "s1", "s2"))
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (s2 - s1 * s1 / n) / (n - 1)
    std = np.where(n >= MIN_FIRM_POOL, np.sqrt(np.maximum(var, 0.0)), np.nan)
    return tr.at_date(std)
