"""Tunable settings of the out-of-sample evaluation, in one place.

The flagging rule of the counterfactual is an *intervention budget*: in fold ``k`` a day is flagged
when ``p_large_loss`` is at least the ``1 - flag_budget`` quantile of the same model's predictions
(all traders) on dates strictly before fold ``k``'s first date. The evaluated rows never set
their own threshold; a fold with fewer than ``min_threshold_rows`` earlier predictions has no
threshold and is left out of the counterfactual. ``flag_probability`` replaces the budget with a
fixed probability when set.
"""

from __future__ import annotations

from dataclasses import dataclass

RULES_MODEL = "rules"
FALLBACK_MODEL = "pooled_lgbm"


@dataclass(frozen=True)
class EvaluationConfig:
    """Evaluation and champion-selection settings.

    flag_budget: fraction of earlier-fold predictions above the flag threshold (0.10 = top 10%).
    flag_probability: fixed flag threshold (probability) instead of the budget, or None.
    min_threshold_rows: earlier predictions needed before a fold gets a threshold.
    reductions: size cuts on flagged days (fractions: 0.5 = trade half the size).
    var_level: expected VaR violation rate (the Kupiec null), fraction.
    periods_per_year: annualisation factor of daily Sharpe / Sortino / Calmar.
    bootstrap_samples, block_days, seed: paired block bootstrap of the AUC difference.
    compare_reduction: the size cut whose daily benefit is compared with the rules baseline.
    min_rows, min_auc, benefit_weight (lambda), champion_reduction: champion selection,
        score = AUC + lambda * net benefit / sum |next_net_pnl| among passing candidates.
    calibration_bins: bins of the reliability curve.
    """

    flag_budget: float = 0.10
    flag_probability: float | None = None
    min_threshold_rows: int = 50
    reductions: tuple[float, ...] = (0.25, 0.50, 0.75)
    var_level: float = 0.05
    periods_per_year: int = 252
    bootstrap_samples: int = 400
    block_days: int = 20
    seed: int = 7
    compare_reduction: float = 0.50
    min_rows: int = 60
    min_auc: float = 0.55
    benefit_weight: float = 1.0
    champion_reduction: float = 0.50
    calibration_bins: int = 10
