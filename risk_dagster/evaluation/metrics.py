"""Out-of-sample metrics of one set of predictions against realised labels.

Every function takes numpy-like arrays and returns a flat dict of floats (NaN when undefined)
plus a ``*_reason`` text explaining any NaN, so a degenerate trader (one class only, too few
rows) shows up in the report instead of raising.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

_EPS = 1e-12


def auc_score(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC via the rank-sum (Mann-Whitney) identity, ties counted half; NaN for one class."""
    y = np.asarray(y, dtype=float)
    score = np.asarray(score, dtype=float)
    n_pos = int((y == 1).sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = stats.rankdata(score)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(y: np.ndarray, score: np.ndarray) -> float:
    """PR-AUC as average precision (step-wise, as scikit-learn); NaN when there is no positive."""
    y = np.asarray(y, dtype=float)
    score = np.asarray(score, dtype=float)
    n_pos = (y == 1).sum()
    if n_pos == 0 or n_pos == len(y):
        return math.nan
    order = np.argsort(-score, kind="mergesort")
    s, t = score[order], y[order]
    # Evaluate precision/recall only at the last index of each tied score group.
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp = np.cumsum(t)[last]
    precision = tp / (last + 1)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def classification_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    """AUC, PR-AUC, Brier, log-loss of probabilities ``p`` (fraction) for 0/1 outcomes ``y``.

    Also returns ``n``, ``base_rate`` (share of 1s), ``brier_clim`` (Brier of always forecasting
    the realised base rate) and ``brier_skill`` = 1 - brier / brier_clim. AUC and PR-AUC are NaN
    with ``auc_reason`` when only one class occurs; everything is NaN for no rows.
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    n = len(y)
    out = {"n": n, "n_pos": int((y == 1).sum())}
    if n == 0:
        nan = math.nan
        out.update(base_rate=nan, auc=nan, pr_auc=nan, brier=nan, log_loss=nan, brier_clim=nan,
                   brier_skill=nan, auc_reason="no rows")
        return out
    base = float(y.mean())
    pc = np.clip(p, _EPS, 1 - _EPS)
    brier = float(np.mean((p - y) ** 2))
    clim = base * (1 - base)
    out.update(
        base_rate=base,
        auc=auc_score(y, p),
        pr_auc=average_precision(y, p),
        brier=brier,
        log_loss=float(-np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc))),
        brier_clim=clim,
        brier_skill=1 - brier / clim if clim > 0 else math.nan,
        auc_reason="" if 0 < out["n_pos"] < n else "one class only",
    )
    return out


def regression_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict:
    """RMSE and MAE (USD) of predicted next-day P&L against the realised ``next_net_pnl``."""
    err = np.asarray(predicted, dtype=float) - np.asarray(actual, dtype=float)
    err = err[~np.isnan(err)]
    if len(err) == 0:
        return {"rmse": math.nan, "mae": math.nan}
    return {"rmse": float(np.sqrt(np.mean(err**2))), "mae": float(np.mean(np.abs(err)))}


def kupiec_pof(violations: int, n: int, level: float = 0.05) -> tuple[float, float]:
    """Kupiec proportion-of-failures test: (LR statistic, p-value with chi-square(1)).

    LR = -2 ln[(1-p)^(n-x) p^x] + 2 ln[(1-x/n)^(n-x) (x/n)^x] with p = ``level``, x violations in
    n days; 0 ln 0 is taken as 0 so x = 0 and x = n are defined.
    """
    if n == 0:
        return math.nan, math.nan
    x = violations
    phat = x / n

    def loglik(prob: float) -> float:
        return sum(k * math.log(q) for k, q in ((n - x, 1 - prob), (x, prob)) if k > 0)

    lr = max(0.0, -2 * (loglik(level) - loglik(phat)))
    return lr, float(stats.chi2.sf(lr, df=1))


def var_backtest(actual: np.ndarray, var: np.ndarray, level: float = 0.05) -> dict:
    """Violations of the 5% VaR (USD, negative) by the realised P&L (USD): rate and Kupiec test."""
    actual = np.asarray(actual, dtype=float)
    var = np.asarray(var, dtype=float)
    ok = ~(np.isnan(actual) | np.isnan(var))
    n = int(ok.sum())
    x = int((actual[ok] < var[ok]).sum())
    lr, p = kupiec_pof(x, n, level)
    return {"var_n": n, "var_violations": x, "var_violation_rate": x / n if n else math.nan,
            "kupiec_lr": lr, "kupiec_p": p}


def rank_ic(risk: np.ndarray, pnl: np.ndarray) -> dict:
    """Spearman correlation of predicted risk with next-day P&L (USD).

    A useful risk score has a *negative* rank IC (higher risk, lower P&L); it is reported as is.
    NaN with a reason for fewer than 3 rows or a constant input.
    """
    risk = np.asarray(risk, dtype=float)
    pnl = np.asarray(pnl, dtype=float)
    if len(risk) < 3:
        return {"rank_ic": math.nan, "rank_ic_reason": "fewer than 3 rows"}
    if np.ptp(risk) == 0 or np.ptp(pnl) == 0:
        return {"rank_ic": math.nan, "rank_ic_reason": "constant input"}
    return {"rank_ic": float(stats.spearmanr(risk, pnl).statistic), "rank_ic_reason": ""}


def prediction_metrics(frame, level: float = 0.05) -> dict:
    """All of the above for one frame with ``large_loss, p_large_loss, next_net_pnl, pred_pnl,
    var_05`` columns."""
    y = frame["large_loss"].to_numpy(dtype=float)
    pnl = frame["next_net_pnl"].to_numpy(dtype=float)
    p = frame["p_large_loss"].to_numpy(dtype=float)
    return {
        **classification_metrics(y, p),
        **regression_metrics(pnl, frame["pred_pnl"].to_numpy(dtype=float)),
        **var_backtest(pnl, frame["var_05"].to_numpy(dtype=float), level),
        **rank_ic(p, pnl),
    }
