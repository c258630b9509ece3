"""Next-day risk labels of each trader-day (the risk_labels contract).

For each (D, trader): the trader's next traded session after D (``label_date``) if it comes
within ``max_gap_sessions`` panel sessions, its net P&L, and two binary events judged with
thresholds known before D (data strictly before D only, so the label is no leak of D itself):

- ``large_loss``: next_net_pnl < the point-in-time large-loss threshold of D
  (``risk_dagster.features.thresholds``: the trader's expanding 10% quantile of traded-day net
  P&L with >= 40 traded days, else the firm-wide z-score quantile times the trader's vol);
- ``dd_breach``: the next day's intraday_max_drawdown > ``dd_multiple`` (3) x the trader's
  expanding std of traded-day net P&L before D when the trader has >= ``min_history`` traded days
  before D, else x the firm-wide std of all traders' traded-day net P&L pooled over dates before D.

``label_status``: 'complete' when the next traded day is found; 'pending' when the panel does not
yet hold ``max_gap_sessions`` sessions after D and the trader has not traded since D;
'no_next_trade' when the trader did not trade within ``max_gap_sessions`` sessions after D.
Events are <NA> unless complete, or when their threshold is unknown (no history at all).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from risk_dagster.features.grouped import TraderRows
from risk_dagster.features.thresholds import (
    MIN_HISTORY, QUANTILE, firm_pnl_std_before, output_order, thresholds_for)

DD_MULTIPLE = 3.0
MAX_GAP_SESSIONS = 10  # a label waits this many sessions for the trader's next traded day
# Sessions re-labelled each morning: a label may change from 'pending' up to MAX_GAP_SESSIONS.
LABEL_REFRESH_SESSIONS = 12
# Large-loss rate among complete labels outside these bounds means the label definition is
# broken (e.g. 99% one class): the risk_labels asset check fails.
LABEL_RATE_BOUNDS = (0.02, 0.40)
_METHODS = np.array(["none", "trader", "firm_z"])


def next_traded_position(tr: TraderRows) -> np.ndarray:
    """Row position of the trader's first traded row strictly after each row (-1 if none)."""
    n = tr.n
    big = np.iinfo(np.int64).max
    at_or_after = np.minimum.accumulate(np.where(tr.traded, np.arange(n), big)[::-1])[::-1]
    nxt = np.full(n, -1, dtype=np.int64)
    same = np.zeros(n, dtype=bool)
    same[:-1] = tr.codes[1:] == tr.codes[:-1]  # the next row belongs to the same trader
    cand = np.where(same, np.r_[at_or_after[1:], big], big)
    ok = (cand < n)
    ok[ok] = tr.codes[cand[ok]] == tr.codes[ok]
    nxt[ok] = cand[ok]
    return nxt


def _event(value: np.ndarray, known: np.ndarray) -> pd.Series:
    return pd.Series(pd.array(np.where(known, value.astype(np.int8), 0), dtype="Int8")).where(
        known, pd.NA)


# The panel columns build_labels reads (the assets read only these from the lake).
PANEL_INPUTS = ["trade_date", "trader_id", "traded", "net_pnl", "intraday_max_drawdown"]


def build_labels(panel: pd.DataFrame, *, max_gap_sessions: int = MAX_GAP_SESSIONS, quantile: float = QUANTILE,
                 min_history: int = MIN_HISTORY, dd_multiple: float = DD_MULTIPLE) -> pd.DataFrame:
    """The risk_labels table.

    In: the trader-day panel. Out: one row per panel row, sorted by (trade_date, trader_id):
    ``trade_date``, ``trader_id``, ``label_date`` (date or None), ``next_net_pnl`` (USD),
    ``large_loss`` (Int8), ``large_loss_threshold`` (USD, <= 0), ``threshold_method``,
    ``dd_breach`` (Int8), ``dd_threshold`` (USD), ``label_status``. See the module docstring.
    """
    tr = TraderRows(panel)
    thr = thresholds_for(tr, quantile, min_history)
    nxt = next_traded_position(tr)
    has_next = nxt >= 0
    src = np.maximum(nxt, 0)
    gap = np.where(has_next, tr.session[src] - tr.session, np.iinfo(np.int64).max)
    complete = has_next & (gap <= max_gap_sessions)
    pending = ~complete & (tr.session + max_gap_sessions > len(tr.dates) - 1)
    status = np.where(complete, "complete", np.where(pending, "pending", "no_next_trade"))

    next_pnl = np.where(complete, tr.col("net_pnl")[src], np.nan)
    ll_known = complete & ~np.isnan(thr["threshold"]) & ~np.isnan(next_pnl)
    own_std = tr.td_prior(tr.traded_col("net_pnl"), None, "std", max(min_history, 2))
    dd_thr = dd_multiple * np.where(thr["n_history"] >= min_history, own_std,
                                    firm_pnl_std_before(tr))
    next_dd = np.where(complete, tr.col("intraday_max_drawdown")[src], np.nan)
    dd_known = complete & ~np.isnan(dd_thr) & ~np.isnan(next_dd)

    dates = tr.frame["trade_date"].to_numpy()
    out = pd.DataFrame({
        "trade_date": dates,
        "trader_id": tr.frame["trader_id"].to_numpy(),
        "label_date": pd.Series(dates[src], dtype=object).where(complete, None),
        "next_net_pnl": next_pnl,
        "large_loss": _event(next_pnl < thr["threshold"], ll_known),
        "large_loss_threshold": thr["threshold"],
        "threshold_method": _METHODS[thr["method"]],
        "dd_breach": _event(next_dd > dd_thr, dd_known),
        "dd_threshold": dd_thr,
        "label_status": status,
    })
    return out.iloc[output_order(tr)].reset_index(drop=True)
