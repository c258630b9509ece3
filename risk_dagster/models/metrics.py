"""Summary metrics of out-of-sample predictions (stored in model metadata; the evaluation
stage computes the full set and chooses champions)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score


def oos_metrics(pred: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Metrics of one family's predictions joined to their labels.

    pred: p_large_loss, pred_pnl (USD), var_05 (USD), fold; truth (same rows): large_loss 0/1,
    next_net_pnl (USD). Returns auc (NaN with one class), logloss, brier, base_rate, mean_p,
    mae_pnl (USD), pinball_05 (USD), var_breach_rate (fraction of days below var_05), n, n_folds.
    """
    y = truth["large_loss"].to_numpy(np.int64)
    p = np.clip(pred["p_large_loss"].to_numpy(np.float64), 1e-6, 1 - 1e-6)
    pnl = truth["next_net_pnl"].to_numpy(np.float64)
    var = pred["var_05"].to_numpy(np.float64)
    diff = pnl - var
    two_classes = 0 < y.sum() < len(y)
    return {
        "auc": float(roc_auc_score(y, p)) if two_classes else float("nan"),
        "logloss": float(log_loss(y, p, labels=[0, 1])),
        "brier": float(brier_score_loss(y, p)),
        "base_rate": float(y.mean()),
        "mean_p": float(p.mean()),
        "mae_pnl": float(np.mean(np.abs(pnl - pred["pred_pnl"].to_numpy(np.float64)))),
        "pinball_05": float(np.mean(np.maximum(0.05 * diff, (0.05 - 1) * diff))),
        "var_breach_rate": float(np.mean(pnl < var)),
        "n": int(len(y)),
        "n_folds": int(pred["fold"].nunique()),
    }
