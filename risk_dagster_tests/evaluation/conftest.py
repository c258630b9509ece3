"""Synthetic predictions, labels and simulator truth with known properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def make_synthetic(n_traders: int = 4, n_days: int = 300, fold_days: int = 60,
                   seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(predictions, labels, truth). Every trader trades every business day; the label of D is
    D+1. ``pooled_lgbm`` sees the true probability with little noise, ``trader_lgbm`` with more,
    ``logistic`` is pure noise and ``rules`` weakly informative. Truth is keyed by the label day.
    """
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2024-01-02", periods=n_days + 1)
    rows, truth = [], []
    for t in range(n_traders):
        tid = f"T{t + 1:04d}"
        logit = rng.normal(-2.2, 1.0, n_days)
        p_true = 1 / (1 + np.exp(-logit))
        y = (rng.random(n_days) < p_true).astype(int)
        pnl = np.where(y == 1, -rng.uniform(500, 1500, n_days), rng.normal(150, 200, n_days))
        for i in range(n_days):
            rows.append({"trade_date": days[i].date(), "trader_id": tid, "label_date":
                         days[i + 1].date(), "next_net_pnl": pnl[i], "large_loss": y[i],
                         "large_loss_threshold": -400.0, "label_status": "complete",
                         "fold": i // fold_days, "logit": logit[i]})
            truth.append({"trade_date": days[i + 1].date(), "trader_id": tid,
                          "p_large_loss": p_true[i]})
    base = pd.DataFrame(rows)
    labels = base.drop(columns=["fold", "logit"]).astype({"large_loss": "Int8"})
    preds = []
    noise = {"pooled_lgbm": 0.3, "trader_lgbm": 1.0, "rules": 2.5, "logistic": None}
    for model, sd in noise.items():
        z = rng.normal(-2.2, 1, len(base)) if sd is None else base["logit"] + rng.normal(
            0, sd, len(base))
        p = 1 / (1 + np.exp(-z))
        preds.append(pd.DataFrame({
            "trade_date": base["trade_date"], "trader_id": base["trader_id"], "model": model,
            "fold": base["fold"], "p_large_loss": p, "pred_pnl": 150 - 1500 * p,
            "var_05": np.full(len(base), -900.0)}))
    return pd.concat(preds, ignore_index=True), labels, pd.DataFrame(truth)


@pytest.fixture(scope="session")
def synthetic():
    return make_synthetic()
