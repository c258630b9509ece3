"""Paired comparison of a model with the rules baseline, and capture of the oracle's lift.

Tests (both paired on the same trader-days):
- AUC: paired block bootstrap. Label dates are cut into consecutive, non-overlapping blocks of
  ``block_days`` sessions; each replicate draws blocks with replacement and computes
  AUC(model) - AUC(rules) on the same rows. Two-sided p-value = 2 x (min(#replicates <= 0,
  #replicates >= 0) + 1) / (B + 1), capped at 1; 95% percentile interval. Blocks keep the
  cross-trader and serial dependence of nearby days together.
- Counterfactual benefit: the firm-wide daily benefit (USD, counterfactual - actual at
  ``compare_reduction``) of each model on the label dates both can be evaluated on; the daily
  differences are tested with a paired t-test and a Wilcoxon signed-rank test (zero differences
  dropped, the Wilcoxon default).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from risk_dagster.evaluation.config import RULES_MODEL, EvaluationConfig
from risk_dagster.evaluation.counterfactual import daily_pnl
from risk_dagster.evaluation.metrics import auc_score

_KEY = ["trader_id", "label_date"]


def _block_indices(dates: pd.Series, block_days: int) -> list[np.ndarray]:
    codes, _ = pd.factorize(dates, sort=True)
    block = codes // max(1, block_days)
    return [np.nonzero(block == b)[0] for b in range(int(block.max()) + 1)] if len(codes) else []


def paired_auc_bootstrap(y: np.ndarray, p_a: np.ndarray, p_b: np.ndarray, dates: pd.Series,
                         cfg: EvaluationConfig) -> dict:
    """AUC(a) - AUC(b) on the same rows with a paired block bootstrap over date blocks."""
    diff = auc_score(y, p_a) - auc_score(y, p_b)
    blocks = _block_indices(dates, cfg.block_days)
    rng = np.random.default_rng(cfg.seed)
    reps = []
    for _ in range(cfg.bootstrap_samples if len(blocks) > 1 and not math.isnan(diff) else 0):
        idx = np.concatenate([blocks[i] for i in rng.integers(0, len(blocks), len(blocks))])
        reps.append(auc_score(y[idx], p_a[idx]) - auc_score(y[idx], p_b[idx]))
    reps = np.asarray([r for r in reps if not math.isnan(r)])
    if len(reps) == 0:
        return {"auc_diff": diff, "auc_diff_lo": math.nan, "auc_diff_hi": math.nan,
                "auc_diff_p": math.nan, "n_blocks": len(blocks)}
    # (k + 1) / (B + 1): a finite bootstrap never gives an exact p-value of 0.
    tail = min((reps <= 0).sum(), (reps >= 0).sum())
    p = min(1.0, 2 * (tail + 1) / (len(reps) + 1))
    return {"auc_diff": diff, "auc_diff_lo": float(np.quantile(reps, 0.025)),
            "auc_diff_hi": float(np.quantile(reps, 0.975)), "auc_diff_p": float(p),
            "n_blocks": len(blocks)}


def paired_daily_tests(diff: np.ndarray) -> dict:
    """Paired t-test and Wilcoxon signed-rank test that mean daily differences (USD) are 0."""
    diff = np.asarray(diff, dtype=float)
    out = {"n_days": len(diff), "mean_daily_diff": float(diff.mean()) if len(diff) else math.nan,
           "t_stat": math.nan, "t_p": math.nan, "wilcoxon_stat": math.nan,
           "wilcoxon_p": math.nan, "daily_test_reason": ""}
    if len(diff) < 3 or np.all(diff == diff[0]):
        out["daily_test_reason"] = "fewer than 3 days or constant differences"
        return out
    t = stats.ttest_1samp(diff, 0.0)
    out.update(t_stat=float(t.statistic), t_p=float(t.pvalue))
    w = stats.wilcoxon(diff, zero_method="wilcox")
    out.update(wilcoxon_stat=float(w.statistic), wilcoxon_p=float(w.pvalue))
    return out


def _daily_benefit(rows: pd.DataFrame, reduction: float) -> pd.Series:
    daily = daily_pnl(rows, reduction)
    return daily["counterfactual"] - daily["actual"]


def compare_with_rules(rows: pd.DataFrame, cfg: EvaluationConfig) -> pd.DataFrame:
    """One row per model (other than rules): paired AUC and daily-benefit tests versus rules.

    In: evaluation rows (``trader_id, label_date, model, p_large_loss, large_loss,
    next_net_pnl, flagged, cf_eligible``). Out: ``model, n_rows`` (common trader-days),
    ``auc_model, auc_rules``, the bootstrap outputs, daily benefit means (USD) and test results.
    Empty when there is no rules model.
    """
    rules = rows[rows["model"] == RULES_MODEL]
    if rules.empty:
        return pd.DataFrame()
    out = []
    for model, grp in rows[rows["model"] != RULES_MODEL].groupby("model", sort=True):
        both = grp.merge(rules, on=_KEY, suffixes=("", "_rules"))
        y = both["large_loss"].to_numpy(dtype=float)
        pa, pb = (both[c].to_numpy(dtype=float) for c in ("p_large_loss", "p_large_loss_rules"))
        res = {"model": model, "n_rows": len(both), "auc_model": auc_score(y, pa),
               "auc_rules": auc_score(y, pb), "auc_test": "paired block bootstrap",
               **paired_auc_bootstrap(y, pa, pb, both["label_date"], cfg)}
        elig = both[both["cf_eligible"] & both["cf_eligible_rules"]]
        m = _daily_benefit(elig, cfg.compare_reduction)
        r = _daily_benefit(elig.assign(flagged=elig["flagged_rules"]), cfg.compare_reduction)
        res.update(reduction=cfg.compare_reduction, benefit_model=float(m.sum()),
                   benefit_rules=float(r.sum()), daily_test="paired t-test and Wilcoxon",
                   **paired_daily_tests((m - r).to_numpy()))
        out.append(res)
    return pd.DataFrame(out)


def oracle_capture(y: np.ndarray, p_model: np.ndarray, p_oracle: np.ndarray) -> dict:
    """Oracle AUC (true probabilities) and the share of its lift the model captures.

    capture = (AUC_model - 0.5) / (AUC_oracle - 0.5) on the same rows; NaN when the oracle
    has no lift (AUC_oracle <= 0.5) or AUC is undefined.
    """
    auc_m, auc_o = auc_score(y, p_model), auc_score(y, p_oracle)
    ok = not (math.isnan(auc_m) or math.isnan(auc_o)) and auc_o > 0.5
    return {"n_oracle": len(y), "auc_model_on_truth_rows": auc_m, "oracle_auc": auc_o,
            "oracle_capture": (auc_m - 0.5) / (auc_o - 0.5) if ok else math.nan}
