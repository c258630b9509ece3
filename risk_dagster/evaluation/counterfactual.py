"""Counterfactual "had the desk cut size by r on flagged days", with point-in-time thresholds.

A day is flagged when ``p_large_loss`` reaches the threshold of its fold; the threshold of fold k
comes only from predictions dated strictly before fold k's first date (see ``EvaluationConfig``).
The counterfactual P&L is ``next_net_pnl * (1 - r)`` on flagged days and unchanged otherwise. It
is an **upper bound**: it assumes P&L scales linearly with size (no change in fills, fees or
behaviour), so the real benefit of a size cut is at most this.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from risk_dagster.evaluation.config import EvaluationConfig


def _period(dates: pd.Series) -> pd.Series:
    return pd.to_datetime(dates).dt.to_period("M").dt.start_time


def flag_thresholds(predictions: pd.DataFrame, cfg: EvaluationConfig) -> pd.DataFrame:
    """Flag threshold (probability) per (model, calendar month) from earlier predictions only.

    The threshold of month m is the (1 - ``flag_budget``) quantile of the model's predictions,
    all traders, dated before m's first day: a desk that acts on the riskiest ~10% of trader-days
    by what it had seen so far. Walk-forward folds are per trader and start on different dates,
    so thresholds follow the calendar, not fold numbers.
    In: predictions with ``trade_date, model, p_large_loss``. Out: one row per (model, month)
    with ``period_start``, ``n_earlier`` and ``threshold`` (NaN when ``n_earlier`` is below
    ``cfg.min_threshold_rows`` and no fixed ``flag_probability`` is set).
    """
    frame = predictions.assign(_period=_period(predictions["trade_date"]))
    out = []
    for model, grp in frame.groupby("model", sort=True):
        grp = grp.sort_values("_period")
        values = grp["p_large_loss"].to_numpy(float)
        periods = grp["_period"].to_numpy()
        for start in np.unique(periods):
            earlier = values[(periods < start) & ~np.isnan(values)]
            if cfg.flag_probability is not None:
                thr = float(cfg.flag_probability)
            elif len(earlier) >= cfg.min_threshold_rows:
                thr = float(np.quantile(earlier, 1 - cfg.flag_budget))
            else:
                thr = math.nan
            out.append({"model": model, "period_start": pd.Timestamp(start),
                        "n_earlier": len(earlier), "threshold": thr})
    return pd.DataFrame(out, columns=["model", "period_start", "n_earlier", "threshold"])


def flag_rows(rows: pd.DataFrame, thresholds: pd.DataFrame) -> pd.DataFrame:
    """``rows`` plus ``threshold``, ``cf_eligible`` (its month has a threshold) and ``flagged``."""
    keyed = rows.assign(period_start=_period(rows["trade_date"]))
    merged = keyed.merge(thresholds[["model", "period_start", "threshold"]],
                         on=["model", "period_start"], how="left").drop(columns="period_start")
    merged["cf_eligible"] = merged["threshold"].notna()
    merged["flagged"] = merged["cf_eligible"] & (merged["p_large_loss"] >= merged["threshold"])
    return merged


def performance(pnl: np.ndarray, periods_per_year: int = 252) -> dict:
    """Risk-adjusted performance of a daily P&L series (USD, in date order).

    sharpe = mean / std * sqrt(periods); sortino = mean / downside deviation * sqrt(periods),
    downside deviation = sqrt(mean(min(pnl, 0)^2)); max_drawdown (USD, >= 0) = largest fall of
    cumulative P&L from its running peak (starting at 0); calmar = mean * periods / max_drawdown
    (annual P&L per USD of drawdown, as there is no capital base). NaN when undefined.
    """
    pnl = np.asarray(pnl, dtype=float)
    if len(pnl) == 0:
        return {"total": 0.0, "sharpe": math.nan, "sortino": math.nan, "calmar": math.nan,
                "max_drawdown": 0.0}
    mean = pnl.mean()
    sd = pnl.std(ddof=1) if len(pnl) > 1 else 0.0
    down = math.sqrt(np.mean(np.minimum(pnl, 0.0) ** 2))
    equity = np.r_[0.0, np.cumsum(pnl)]
    mdd = float(np.max(np.maximum.accumulate(equity) - equity))
    root = math.sqrt(periods_per_year)
    return {
        "total": float(pnl.sum()),
        "sharpe": float(mean / sd * root) if sd > 0 else math.nan,
        "sortino": float(mean / down * root) if down > 0 else math.nan,
        "calmar": float(mean * periods_per_year / mdd) if mdd > 0 else math.nan,
        "max_drawdown": mdd,
    }


def daily_pnl(frame: pd.DataFrame, reduction: float) -> pd.DataFrame:
    """Actual and counterfactual P&L (USD) summed per ``label_date`` over the eligible rows."""
    elig = frame[frame["cf_eligible"]]
    pnl = elig["next_net_pnl"].astype(float)
    cf = np.where(elig["flagged"], pnl * (1 - reduction), pnl)
    daily = pd.DataFrame({"label_date": elig["label_date"], "actual": pnl.to_numpy(),
                          "counterfactual": cf})
    return daily.groupby("label_date", sort=True)[["actual", "counterfactual"]].sum()


def counterfactual(frame: pd.DataFrame, reduction: float, periods_per_year: int = 252) -> dict:
    """Counterfactual outcome of cutting size by ``reduction`` (fraction) on flagged rows.

    In: rows with ``label_date, next_net_pnl, flagged, cf_eligible`` (one trader or the whole
    firm). Out (USD unless noted): ``net_benefit`` = counterfactual - actual total,
    ``avoided_losses`` (>= 0, losses not taken on flagged losing days), ``missed_gains`` (>= 0),
    ``intervention_rate`` (fraction of eligible rows flagged), ``abs_pnl`` (sum of
    |next_net_pnl| over eligible rows, the scale of the benefit), performance ``*_before`` /
    ``*_after`` of the daily series, and ``upper_bound`` = True (P&L assumed to scale with size).
    """
    elig = frame[frame["cf_eligible"]]
    pnl = elig["next_net_pnl"].to_numpy(dtype=float)
    flagged = elig["flagged"].to_numpy(dtype=bool)
    avoided = float(reduction * -pnl[flagged & (pnl < 0)].sum())
    missed = float(reduction * pnl[flagged & (pnl > 0)].sum())
    daily = daily_pnl(frame, reduction)
    out = {"reduction": reduction, "n_rows": len(pnl), "n_flagged": int(flagged.sum()),
           "intervention_rate": float(flagged.mean()) if len(pnl) else math.nan,
           "net_benefit": avoided - missed, "avoided_losses": avoided, "missed_gains": missed,
           "abs_pnl": float(np.abs(pnl).sum()),
           "upper_bound": True}
    for when, col in (("before", "actual"), ("after", "counterfactual")):
        perf = performance(daily[col].to_numpy(), periods_per_year)
        out.update({f"{k}_{when}": v for k, v in perf.items()})
    return out


def counterfactual_table(rows: pd.DataFrame, cfg: EvaluationConfig) -> pd.DataFrame:
    """Counterfactual per (trader, model, reduction) and firm-wide per (model, reduction).

    ``level`` is 'trader' or 'firm' (``trader_id`` is None for the firm). Firm-wide series add
    all traders' P&L per label date.
    """
    out = []
    for model, grp in rows.groupby("model", sort=True):
        for r in cfg.reductions:
            firm = counterfactual(grp, r, cfg.periods_per_year)
            out.append({"level": "firm", "trader_id": None, "model": model, **firm})
            for tid, tgrp in grp.groupby("trader_id", sort=True):
                res = counterfactual(tgrp, r, cfg.periods_per_year)
                out.append({"level": "trader", "trader_id": tid, "model": model, **res})
    return pd.DataFrame(out)
