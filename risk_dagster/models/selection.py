"""Feature selection inside a training window: several rankings combined by mean rank.

Methods: LightGBM gain of a small default classifier, univariate AUC distance from 0.5 for the
large-loss label, and |Spearman correlation| with next-day P&L. Features are then taken in
combined-rank order, skipping any whose |Spearman correlation| with an already kept feature
exceeds ``corr_threshold`` (correlation pruning), up to ``max_features``.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from risk_dagster.models.config import TrainingConfig


def _usable(X: pd.DataFrame) -> list[str]:
    """Columns with at least two distinct non-missing values."""
    return [c for c in X.columns if X[c].nunique(dropna=True) > 1]


def gain_ranking(X: pd.DataFrame, y: np.ndarray, seed: int) -> pd.Series:
    """Total split gain per feature of a small, fixed LightGBM classifier."""
    params = {
        "objective": "binary", "learning_rate": 0.1, "num_leaves": 15, "min_data_in_leaf": 20,
        "feature_fraction": 0.8, "verbosity": -1, "num_threads": 1, "deterministic": True,
        "force_row_wise": True, "seed": seed,
    }
    booster = lgb.train(params, lgb.Dataset(X.to_numpy(np.float64), label=y), num_boost_round=60)
    return pd.Series(booster.feature_importance("gain"), index=X.columns)


def auc_ranking(X: pd.DataFrame, y: np.ndarray) -> pd.Series:
    """|AUC - 0.5| of each feature alone (missing values set to the median), 0 if one class."""
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return pd.Series(0.0, index=X.columns)
    ranks = X.fillna(X.median()).rank(method="average")
    auc = (ranks[y == 1].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0)
    return (auc - 0.5).abs()


def corr_ranking(X: pd.DataFrame, target: np.ndarray) -> pd.Series:
    """|Spearman correlation| of each feature with ``target`` (pairwise complete rows)."""
    ranks = X.rank()
    t = pd.Series(target, index=X.index).rank()
    return ranks.corrwith(t).abs().fillna(0.0)


def select_features(
    X: pd.DataFrame, y: np.ndarray, pnl: np.ndarray, cfg: TrainingConfig,
    *, max_features: int | None = None,
) -> list[str]:
    """Up to ``max_features`` feature names, best first.

    X: training-window features (rows = trader-days); y: large_loss 0/1; pnl: next-day net P&L
    (USD). Only these rows are looked at, so a caller that passes training rows only cannot
    leak the test fold into the choice.
    """
    k = cfg.max_features if max_features is None else max_features
    cols = _usable(X)
    if not cols:
        return []
    Xu = X[cols].astype("float64")
    y = np.asarray(y, dtype=np.int64)
    rankings = pd.DataFrame({
        "gain": gain_ranking(Xu, y, cfg.seed),
        "auc": auc_ranking(Xu, y),
        "corr": corr_ranking(Xu, np.asarray(pnl, dtype=np.float64)),
    })
    # Higher score is better in each method; ties broken by column order (stable sort).
    combined = rankings.rank(ascending=False, method="average").mean(axis=1)
    order = combined.sort_values(kind="stable").index.tolist()
    corr = Xu[order[: 4 * k]].rank().corr().abs()
    kept: list[str] = []
    for name in order[: 4 * k]:
        if all(not corr.loc[name, other] > cfg.corr_threshold for other in kept):
            kept.append(name)
        if len(kept) == k:
            break
    return kept
