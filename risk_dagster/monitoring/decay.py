"""Live performance of a trader's champion as labels arrive, compared with its training figures.

Live rows are out-of-sample predictions joined to their labels (``p_large_loss``, ``large_loss``
1/0, ``next_net_pnl`` USD, ``trade_date``); only the latest ``cfg.decay_window_rows`` labelled
rows count. AUC is noisy on a few dozen rows (standard error ~0.1 with 5 positives), so decay by
AUC needs both a drop of more than ``max_auc_drop`` below the training AUC *and* a live AUC whose
one-sided upper bound (Hanley-McNeil standard error, z = ``auc_z``) is still below it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from risk_dagster.monitoring.config import MonitoringConfig


@dataclass
class DecayResult:
    """Live metrics of one trader's champion vs training.

    n / n_positive: labelled rows and large-loss days in the window; auc, auc_se (Hanley-McNeil),
    rank_ic (Spearman of p_large_loss with next_net_pnl; negative is good), brier, cf_benefit
    (USD per labelled day: P&L saved by cutting size by ``size_reduction`` on flagged days),
    n_flagged; ``training``: the training figures compared with; decayed / reason.
    """

    decayed: bool
    reason: str
    n: int
    n_positive: int
    auc: float
    auc_se: float
    rank_ic: float
    brier: float
    cf_benefit: float
    n_flagged: int
    training: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """JSON-safe dict (NaN -> None)."""
        out = {k: v for k, v in self.__dict__.items() if k != "training"}
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}


def hanley_mcneil_se(auc: float, n_pos: int, n_neg: int) -> float:
    """Standard error of an AUC from its value and the class counts (Hanley & McNeil 1982)."""
    if n_pos == 0 or n_neg == 0 or math.isnan(auc):
        return math.nan
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
    return math.sqrt(max(var, 0.0))


def _cf_benefit(p: np.ndarray, pnl: np.ndarray, threshold: float, reduction: float) -> tuple[float, int]:
    """USD per labelled day saved (negative: lost) by cutting size on days with p >= threshold."""
    if math.isnan(threshold):
        return math.nan, 0
    flagged = (p >= threshold) & np.isfinite(pnl)
    return float(-reduction * pnl[flagged].sum() / max(np.isfinite(pnl).sum(), 1)), int(flagged.sum())


def _verdict(res: DecayResult, training: dict, cfg: MonitoringConfig) -> tuple[bool, str]:
    if res.n < cfg.min_decay_rows or res.n_positive < cfg.min_decay_positives:
        return False, (f"not enough labels ({res.n} rows, {res.n_positive} positives; need "
                       f"{cfg.min_decay_rows} and {cfg.min_decay_positives})")
    reasons = []
    t_auc = float(training.get("auc", math.nan))
    if not math.isnan(t_auc) and not math.isnan(res.auc):
        upper = res.auc + cfg.auc_z * res.auc_se
        if t_auc - res.auc > cfg.max_auc_drop and upper < t_auc:
            reasons.append(f"AUC {res.auc:.3f} vs {t_auc:.3f} at training")
    t_brier = float(training.get("brier", math.nan))
    if not math.isnan(t_brier) and res.brier > t_brier * (1 + cfg.max_brier_rise):
        reasons.append(f"Brier {res.brier:.4f} vs {t_brier:.4f} at training")
    if reasons:
        return True, "decay: " + "; ".join(reasons)
    return False, f"no decay (AUC {res.auc:.3f} vs {t_auc:.3f}, Brier {res.brier:.4f} vs {t_brier:.4f})"


def performance_decay(live: pd.DataFrame, training_metrics: dict,
                      cfg: MonitoringConfig | None = None) -> DecayResult:
    """Rolling live metrics of one trader's champion and whether they decayed.

    live: ``trade_date, p_large_loss, large_loss, next_net_pnl`` (+ optional ``label_status``;
    only 'complete' rows count). training_metrics: the champion's out-of-sample training figures,
    keys ``auc``, ``brier`` (decay tests), ``rank_ic``, ``cf_benefit`` (reported alongside) and
    ``flag_threshold`` (probability for the counterfactual; NaN benefit without it). Missing keys
    skip their comparison.
    """
    def col(name):
        return (live[name].to_numpy(dtype=float, na_value=np.nan) if name in live
                else np.full(len(live), np.nan))

    status = live["label_status"].to_numpy(dtype=object) if "label_status" in live else None
    return live_decay(live["trade_date"].to_numpy(), col("p_large_loss"), col("large_loss"),
                      col("next_net_pnl"), status, training_metrics, cfg)


def auc_score(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC of scores ``p`` for 0/1 labels ``y`` with both classes present: the Mann-Whitney
    form (ties count one half), which is the area ``sklearn.metrics.roc_auc_score`` computes
    (equal to ~1e-15) at ~1/100 of its cost."""
    ranks = rankdata(p)
    n_pos = float(y.sum())
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (len(y) - n_pos)))


def rank_ic(p: np.ndarray, pnl: np.ndarray) -> float:
    """Spearman correlation of ``p`` with ``pnl`` (finite, non-constant, >= 3 rows), computed as
    ``scipy.stats.spearmanr`` computes its statistic (ranks, then ``np.corrcoef``) without its
    p-value and checks."""
    ranked = np.column_stack([rankdata(p), rankdata(pnl)])
    return float(np.corrcoef(ranked, rowvar=False)[1, 0])


def live_decay(trade_date: np.ndarray, p: np.ndarray, y: np.ndarray, pnl: np.ndarray,
               status: np.ndarray | None, training_metrics: dict,
               cfg: MonitoringConfig | None = None) -> DecayResult:
    """``performance_decay`` of the live rows given as arrays (float, NaN = missing; ``status``
    the label status or None): the rows with a prediction and a complete label, the latest
    ``cfg.decay_window_rows`` of them by date."""
    cfg = cfg or MonitoringConfig()
    keep = ~np.isnan(p) & ~np.isnan(y)
    if status is not None:
        keep &= status == "complete"
    idx = np.flatnonzero(keep)
    idx = idx[np.argsort(trade_date[idx], kind="stable")]
    idx = idx[max(len(idx) - cfg.decay_window_rows, 0):]
    y, p, pnl = y[idx], p[idx], pnl[idx]
    n_pos = int(y.sum())
    auc = auc_score(y, p) if 0 < n_pos < len(y) else math.nan
    ok = np.isfinite(pnl)
    ic = (rank_ic(p[ok], pnl[ok])
          if ok.sum() >= 3 and np.ptp(p[ok]) > 0 and np.ptp(pnl[ok]) > 0 else math.nan)
    benefit, n_flagged = _cf_benefit(p, pnl, float(training_metrics.get("flag_threshold", math.nan)),
                                     cfg.size_reduction)
    res = DecayResult(
        decayed=False, reason="", n=len(y), n_positive=n_pos, auc=auc,
        auc_se=hanley_mcneil_se(auc, n_pos, len(y) - n_pos), rank_ic=ic,
        brier=float(np.mean((p - y) ** 2)) if len(y) else math.nan, cf_benefit=benefit,
        n_flagged=n_flagged, training=dict(training_metrics),
    )
    res.decayed, res.reason = _verdict(res, training_metrics, cfg)
    return res
