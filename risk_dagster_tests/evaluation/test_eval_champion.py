import math

import pandas as pd
import pytest

from risk_dagster.evaluation.champions import select_champions
from risk_dagster.evaluation.config import EvaluationConfig
from risk_dagster.evaluation.evaluate import Evaluation, evaluate


def _metrics(model, auc, n=200, brier=0.08, clim=0.09, trader="T0001"):
    return {"trader_id": trader, "model": model, "n": n, "auc": auc, "brier": brier,
            "brier_clim": clim, "auc_reason": "" if not math.isnan(auc) else "one class only"}


def _cf(model, benefit, abs_pnl=10_000.0, trader="T0001", r=0.5):
    return {"level": "trader", "trader_id": trader, "model": model, "reduction": r,
            "net_benefit": benefit, "abs_pnl": abs_pnl}


def _evaluation(metrics, cfs, cfg):
    empty = pd.DataFrame()
    return Evaluation(rows=empty, per_trader=pd.DataFrame(metrics), firm=empty,
                      counterfactual=pd.DataFrame(cfs), comparison=empty, thresholds=empty,
                      config=cfg)


def test_score_formula_trades_auc_against_benefit():
    metrics = [_metrics("pooled_lgbm", 0.60), _metrics("trader_lgbm", 0.58),
               _metrics("rules", 0.70)]
    cfs = [_cf("pooled_lgbm", 0.0), _cf("trader_lgbm", 500.0), _cf("rules", 900.0)]
    ev = _evaluation(metrics, cfs, EvaluationConfig(benefit_weight=1.0))
    dec = select_champions(ev)["T0001"]
    scores = {c["model"]: c["score"] for c in dec["candidates"]}
    assert "rules" not in scores  # the baseline is a fallback, never a candidate
    assert scores["trader_lgbm"] == pytest.approx(0.58 + 500 / 10_000)
    assert scores["pooled_lgbm"] == pytest.approx(0.60)
    assert dec["chosen"] == "trader_lgbm" and "highest score" in dec["reason"]
    # With lambda = 0 only AUC counts.
    dec0 = select_champions(ev, EvaluationConfig(benefit_weight=0.0))["T0001"]
    assert dec0["chosen"] == "pooled_lgbm"


def test_thresholds_and_fallbacks():
    cfg = EvaluationConfig()
    metrics = [_metrics("pooled_lgbm", 0.54), _metrics("trader_lgbm", 0.80, n=30),
               _metrics("logistic", 0.70, brier=0.10), _metrics("rules", 0.6)]
    dec = select_champions(_evaluation(metrics, [], cfg))["T0001"]
    assert dec["chosen"] == "pooled_lgbm" and "fallback" in dec["reason"]
    failed = {c["model"]: c["failed"] for c in dec["candidates"]}
    assert failed["pooled_lgbm"][0].startswith("auc=0.5400 < min_auc")
    assert failed["trader_lgbm"][0].startswith("n=30 < min_rows")
    assert failed["logistic"][0].startswith("brier=")
    no_pooled = select_champions(_evaluation(metrics[1:], [], cfg))["T0001"]
    assert no_pooled["chosen"] == "rules"
    nothing = select_champions(_evaluation(metrics[1:3], [], cfg))["T0001"]
    assert nothing["chosen"] is None
    one_class = select_champions(_evaluation([_metrics("trader_lgbm", math.nan)], [], cfg))
    assert "one class only" in one_class["T0001"]["candidates"][0]["failed"][0]


def test_champions_on_synthetic(synthetic):
    preds, labels, _ = synthetic
    ev = evaluate(preds, labels, cfg=EvaluationConfig(bootstrap_samples=10))
    decisions = select_champions(ev)
    assert set(decisions) == {"T0001", "T0002", "T0003", "T0004"}
    for dec in decisions.values():
        passing = [c for c in dec["candidates"] if c["passed"]]
        best = max(passing, key=lambda c: c["score"])
        assert dec["chosen"] == best["model"]
        assert dec["chosen"] in {"pooled_lgbm", "trader_lgbm"}  # the noise model never wins
    assert decisions["T0001"]["chosen"] == "pooled_lgbm"  # least noisy view of the truth
