import math

import numpy as np
import pandas as pd
import pytest

from risk_dagster.evaluation.config import EvaluationConfig
from risk_dagster.evaluation.counterfactual import (counterfactual, counterfactual_table,
                                                    flag_rows, flag_thresholds, performance)


def _five_days():
    return pd.DataFrame({
        "label_date": pd.bdate_range("2024-03-04", periods=5),
        "next_net_pnl": [100.0, -200.0, 50.0, -300.0, 80.0],
        "flagged": [False, True, True, True, False],
        "cf_eligible": True,
    })


def test_counterfactual_five_days_by_hand():
    res = counterfactual(_five_days(), 0.5)
    # counterfactual P&L: 100, -100, 25, -150, 80
    assert res["avoided_losses"] == pytest.approx(250.0)  # 0.5 * (200 + 300)
    assert res["missed_gains"] == pytest.approx(25.0)  # 0.5 * 50
    assert res["net_benefit"] == pytest.approx(225.0)
    assert res["intervention_rate"] == pytest.approx(0.6)
    assert res["total_before"] == pytest.approx(-270.0)
    assert res["total_after"] == pytest.approx(-45.0)
    # equity before 0,100,-100,-50,-350,-270 -> drawdown 450; after 0,100,0,25,-125,-45 -> 225
    assert res["max_drawdown_before"] == pytest.approx(450.0)
    assert res["max_drawdown_after"] == pytest.approx(225.0)
    assert res["calmar_before"] == pytest.approx(-54.0 * 252 / 450.0)
    assert res["upper_bound"] is True


def test_performance_ratios_by_hand():
    pnl = np.array([100.0, -100.0, 300.0])
    perf = performance(pnl, 252)
    assert perf["sharpe"] == pytest.approx(100 / 200 * math.sqrt(252))  # mean 100, sd 200
    assert perf["sortino"] == pytest.approx(100 / math.sqrt(10000 / 3) * math.sqrt(252))
    assert perf["max_drawdown"] == pytest.approx(100.0)
    assert math.isnan(performance(np.array([5.0, 5.0]))["sharpe"])


def test_ineligible_rows_are_left_out():
    frame = _five_days()
    frame.loc[3, "cf_eligible"] = False
    res = counterfactual(frame, 0.5)
    assert res["n_rows"] == 4 and res["net_benefit"] == pytest.approx(100.0 - 25.0)


def _predictions(n_folds=3, per_fold=100, seed=3):
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2024-01-02", periods=n_folds * per_fold)
    return pd.DataFrame({"trade_date": dates, "trader_id": "T0001", "model": "pooled_lgbm",
                         "fold": np.arange(len(dates)) // per_fold,
                         "p_large_loss": rng.random(len(dates))})


def test_threshold_uses_only_earlier_months():
    cfg = EvaluationConfig(flag_budget=0.1, min_threshold_rows=50)
    preds = _predictions()  # 300 business days from 2024-01-02
    thr = flag_thresholds(preds, cfg).set_index("period_start")
    jan, mar, apr = (pd.Timestamp(f"2024-{m:02d}-01") for m in (1, 5, 6))  # May, June
    assert math.isnan(thr.loc[jan, "threshold"])  # nothing before the first month
    before_mar = preds.loc[preds["trade_date"] < mar, "p_large_loss"]
    assert thr.loc[mar, "threshold"] == pytest.approx(np.quantile(before_mar, 0.9))
    assert thr.loc[mar, "n_earlier"] == len(before_mar)
    # Changing the evaluated rows (March onward) leaves March's threshold alone ...
    moved = preds.copy()
    moved.loc[moved["trade_date"] >= mar, "p_large_loss"] = 0.999
    assert flag_thresholds(moved, cfg).set_index("period_start").loc[mar, "threshold"] == \
        thr.loc[mar, "threshold"]
    # ... while changing earlier months moves later thresholds (the test can fail).
    moved.loc[moved["trade_date"] < mar, "p_large_loss"] = 0.999
    assert flag_thresholds(moved, cfg).set_index("period_start").loc[apr, "threshold"] == \
        pytest.approx(0.999)


def test_flags_follow_threshold_and_budget():
    cfg = EvaluationConfig(flag_budget=0.1, min_threshold_rows=50)
    preds = _predictions(per_fold=400)
    rows = flag_rows(preds, flag_thresholds(preds, cfg))
    first_month = pd.to_datetime(rows["trade_date"]) < pd.Timestamp("2024-02-01")
    assert not rows.loc[first_month, "flagged"].any()
    assert not rows.loc[first_month, "cf_eligible"].any()
    rate = rows.loc[~first_month, "flagged"].mean()
    assert 0.05 < rate < 0.15  # iid uniform predictions: about the 10% budget
    fixed = flag_thresholds(preds, EvaluationConfig(flag_probability=0.5))
    assert (fixed["threshold"] == 0.5).all()


def test_firm_wide_counterfactual_sums_traders():
    a = _five_days().assign(trader_id="A", model="m")
    b = _five_days().assign(trader_id="B", model="m", flagged=False)
    table = counterfactual_table(pd.concat([a, b]), EvaluationConfig(reductions=(0.5,)))
    firm = table[table["level"] == "firm"].iloc[0]
    assert firm["net_benefit"] == pytest.approx(225.0)
    assert firm["total_before"] == pytest.approx(-540.0)
    assert firm["intervention_rate"] == pytest.approx(0.3)
    assert set(table.loc[table["level"] == "trader", "trader_id"]) == {"A", "B"}
