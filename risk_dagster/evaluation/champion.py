"""Champion model per trader, by a stated formula, with every decision recorded.

Candidates: every model with out-of-sample rows for the trader except ``rules``. A candidate
passes when (1) it has at least ``min_rows`` evaluated rows, (2) AUC >= ``min_auc`` and (3) its
Brier score is no worse than the climatological Brier (constant forecast of the realised base
rate). Among passing candidates the highest

    score = AUC + lambda * net_benefit / abs_pnl

wins, where net_benefit (USD) is the counterfactual benefit at ``champion_reduction`` and
abs_pnl (USD) the sum of |next_net_pnl| over the same rows (no benefit -> 0). When none passes:
``pooled_lgbm`` if it has rows for the trader, else ``rules``, else None.
"""

from __future__ import annotations

import math

import pandas as pd

from risk_dagster.evaluation.config import FALLBACK_MODEL, RULES_MODEL, EvaluationConfig
from risk_dagster.evaluation.evaluate import Evaluation

FORMULA = "score = auc + lambda * net_benefit / abs_pnl (counterfactual at {r:.0%} size cut)"


def _benefit(evaluation: Evaluation, trader_id: str, model: str, reduction: float) -> tuple:
    cf = evaluation.counterfactual
    hit = cf[(cf["level"] == "trader") & (cf["trader_id"] == trader_id) & (cf["model"] == model)
             & (cf["reduction"] == reduction)] if len(cf) else cf
    if len(hit) == 0:
        return 0.0, 0.0
    return float(hit["net_benefit"].iloc[0]), float(hit["abs_pnl"].iloc[0])


def _candidate(row: pd.Series, evaluation: Evaluation, cfg: EvaluationConfig) -> dict:
    benefit, abs_pnl = _benefit(evaluation, row["trader_id"], row["model"],
                                cfg.champion_reduction)
    norm = benefit / abs_pnl if abs_pnl > 0 else 0.0
    auc, brier, clim = float(row["auc"]), float(row["brier"]), float(row["brier_clim"])
    failed = []
    if row["n"] < cfg.min_rows:
        failed.append(f"n={int(row['n'])} < min_rows={cfg.min_rows}")
    if math.isnan(auc) or auc < cfg.min_auc:
        failed.append(f"auc={auc:.4f} < min_auc={cfg.min_auc}"
                      + (f" ({row['auc_reason']})" if row["auc_reason"] else ""))
    if math.isnan(brier) or brier > clim:
        failed.append(f"brier={brier:.5f} > climatological {clim:.5f}")
    return {"model": row["model"], "n": int(row["n"]), "auc": auc, "brier": brier,
            "brier_clim": clim, "net_benefit": benefit, "abs_pnl": abs_pnl,
            "norm_benefit": norm, "score": auc + cfg.benefit_weight * norm if not
            math.isnan(auc) else math.nan, "passed": not failed, "failed": failed}


def _decide(trader_id: str, grp: pd.DataFrame, evaluation: Evaluation,
            cfg: EvaluationConfig) -> dict:
    cands = [_candidate(r, evaluation, cfg) for _, r in grp.iterrows() if r["model"] != RULES_MODEL]
    passing = [c for c in cands if c["passed"]]
    present = set(grp["model"])
    if passing:
        best = max(passing, key=lambda c: (c["score"], c["model"]))
        chosen, reason = best["model"], (f"highest score {best['score']:.4f} among "
                                         f"{len(passing)} passing candidate(s)")
    elif FALLBACK_MODEL in present:
        chosen, reason = FALLBACK_MODEL, f"no candidate passed; fallback {FALLBACK_MODEL}"
    elif RULES_MODEL in present:
        chosen, reason = RULES_MODEL, f"no candidate passed, no {FALLBACK_MODEL}; fallback rules"
    else:
        chosen, reason = None, "no candidate passed and no fallback model has predictions"
    return {"trader_id": trader_id, "chosen": chosen, "reason": reason,
            "formula": FORMULA.format(r=cfg.champion_reduction),
            "lambda": cfg.benefit_weight,
            "thresholds": {"min_rows": cfg.min_rows, "min_auc": cfg.min_auc,
                           "brier": "<= climatological"},
            "candidates": cands}


def select_champions(evaluation: Evaluation, cfg: EvaluationConfig | None = None) -> dict:
    """Champion decision per trader: ``{trader_id: {chosen, reason, formula, lambda,
    thresholds, candidates: [{model, n, auc, brier, brier_clim, net_benefit (USD), abs_pnl
    (USD), norm_benefit, score, passed, failed: [why]}]}}``."""
    cfg = cfg or evaluation.config
    if len(evaluation.per_trader) == 0:
        return {}
    return {tid: _decide(tid, grp, evaluation, cfg)
            for tid, grp in evaluation.per_trader.groupby("trader_id", sort=True)}
