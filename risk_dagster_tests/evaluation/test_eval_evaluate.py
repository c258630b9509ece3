import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from risk_dagster.evaluation.comparison import (compare_with_rules, oracle_capture,
                                                paired_auc_bootstrap, paired_daily_tests)
from risk_dagster.evaluation.config import EvaluationConfig
from risk_dagster.evaluation.evaluate import evaluate, prepare_rows

D = dt.date


def _pred(day, model="pooled_lgbm", p=0.1):
    return {"trade_date": day, "trader_id": "T0001", "model": model, "fold": 0,
            "p_large_loss": p, "pred_pnl": 0.0, "var_05": -100.0}


def _label(day, label_day, status="complete", y=0, pnl=10.0):
    return {"trade_date": day, "trader_id": "T0001", "label_date": label_day,
            "next_net_pnl": pnl, "large_loss": y, "label_status": status}


def test_prepare_rows_keeps_complete_labels_and_latest_forecast():
    preds = pd.DataFrame([_pred(D(2024, 3, 4), p=0.1), _pred(D(2024, 3, 5), p=0.2),
                          _pred(D(2024, 3, 6), p=0.3)])
    # 3/4 and 3/5 share the label day 3/6 (the trader skipped 3/5); 3/6 is still pending.
    labels = pd.DataFrame([_label(D(2024, 3, 4), D(2024, 3, 6)),
                           _label(D(2024, 3, 5), D(2024, 3, 6)),
                           _label(D(2024, 3, 6), None, status="pending", y=None, pnl=None)])
    labels["large_loss"] = labels["large_loss"].astype("Int8")
    rows = prepare_rows(preds, labels)
    assert len(rows) == 1
    assert rows["p_large_loss"].iloc[0] == 0.2
    assert rows["trade_date"].iloc[0] == pd.Timestamp("2024-03-05")
    no_prob = preds.assign(p_large_loss=[0.1, float("nan"), 0.3])
    assert prepare_rows(no_prob, labels)["p_large_loss"].tolist() == [0.1]
    with pytest.raises(ValueError, match="duplicate"):
        prepare_rows(pd.concat([preds, preds]), labels)
    with pytest.raises(ValueError, match="missing columns"):
        prepare_rows(preds.drop(columns=["var_05"]), labels)


def test_evaluate_on_synthetic_orders_models_and_joins_truth_by_label_date(synthetic):
    preds, labels, truth = synthetic
    ev = evaluate(preds, labels, truth, EvaluationConfig(bootstrap_samples=100))
    firm = ev.firm.set_index("model")
    assert firm.loc["pooled_lgbm", "n"] == 4 * 300
    assert firm.loc["pooled_lgbm", "auc"] > firm.loc["trader_lgbm", "auc"] > 0.6
    assert abs(firm.loc["logistic", "auc"] - 0.5) < 0.07
    # Truth keyed by the label day: the oracle is the generating probability, best of all.
    assert firm.loc["pooled_lgbm", "oracle_auc"] >= firm.loc["pooled_lgbm", "auc"] - 0.02
    assert 0.8 < firm.loc["pooled_lgbm", "oracle_capture"] < 1.1
    assert firm.loc["pooled_lgbm", "rank_ic"] < 0  # higher risk, lower next-day P&L
    assert len(ev.per_trader) == 4 * 4
    assert set(ev.comparison["model"]) == {"pooled_lgbm", "trader_lgbm", "logistic"}
    cmp = ev.comparison.set_index("model")
    assert cmp.loc["pooled_lgbm", "auc_diff"] > 0
    assert 0 < cmp.loc["pooled_lgbm", "auc_diff_p"] < 0.05
    assert cmp.loc["pooled_lgbm", "benefit_model"] > cmp.loc["pooled_lgbm", "benefit_rules"]
    month = pd.to_datetime(ev.rows["trade_date"]).dt.to_period("M")
    assert not ev.rows.loc[month == month.min(), "cf_eligible"].any()  # no earlier predictions
    cf = ev.counterfactual
    firm_cf = cf[(cf["level"] == "firm") & (cf["model"] == "pooled_lgbm")]
    assert list(firm_cf["reduction"]) == [0.25, 0.5, 0.75]
    assert np.allclose(firm_cf["net_benefit"] / firm_cf["reduction"],
                       firm_cf["net_benefit"].iloc[0] / 0.25)  # linear in r
    assert (firm_cf["net_benefit"] > 0).all()


def test_oracle_join_uses_label_date(synthetic):
    preds, labels, truth = synthetic
    # Truth that is exactly the outcome of the label day: oracle AUC 1 only if keyed correctly.
    exact = labels[["label_date", "trader_id", "large_loss"]].rename(
        columns={"label_date": "trade_date", "large_loss": "p_large_loss"}).astype(
        {"p_large_loss": float})
    ev = evaluate(preds, labels, exact, EvaluationConfig(bootstrap_samples=10))
    assert (ev.firm["oracle_auc"] == 1.0).all()


def test_degenerate_trader_reports_reason(synthetic):
    preds, labels, _ = synthetic
    labels = labels.copy()
    labels.loc[labels["trader_id"] == "T0001", "large_loss"] = 0
    ev = evaluate(preds, labels, cfg=EvaluationConfig(bootstrap_samples=10))
    t1 = ev.per_trader[ev.per_trader["trader_id"] == "T0001"]
    assert t1["auc"].isna().all() and (t1["auc_reason"] == "one class only").all()
    assert "oracle_auc" not in ev.firm.columns


def test_paired_bootstrap_identical_predictions():
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.2).astype(float)
    p = rng.random(400)
    dates = pd.Series(np.repeat(pd.bdate_range("2024-01-02", periods=100), 4))
    res = paired_auc_bootstrap(y, p, p, dates, EvaluationConfig(bootstrap_samples=50))
    assert res["auc_diff"] == 0 and res["auc_diff_p"] == 1.0 and res["n_blocks"] == 5


def test_paired_daily_tests_by_hand():
    res = paired_daily_tests(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert res["t_stat"] == pytest.approx(3 / (math.sqrt(2.5) / math.sqrt(5)))
    assert res["wilcoxon_stat"] == 0.0  # no negative differences
    assert math.isnan(paired_daily_tests(np.zeros(5))["t_p"])


def test_oracle_capture_formula():
    y = np.array([0, 0, 0, 1, 1, 1], dtype=float)
    oracle = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    model = np.array([0.1, 0.8, 0.3, 0.7, 0.2, 0.9])  # AUC 6/9
    res = oracle_capture(y, model, oracle)
    assert res["oracle_auc"] == 1.0
    assert res["oracle_capture"] == pytest.approx((6 / 9 - 0.5) / 0.5)
    assert math.isnan(oracle_capture(y, model, 1 - oracle)["oracle_capture"])


def test_compare_without_rules_is_empty(synthetic):
    preds, labels, _ = synthetic
    ev = evaluate(preds[preds["model"] != "rules"], labels,
                  cfg=EvaluationConfig(bootstrap_samples=10))
    assert ev.comparison.empty
    assert compare_with_rules(ev.rows, ev.config).empty


def test_arrow_dates_and_no_complete_labels(synthetic, tmp_path):
    import pyarrow as pa

    from risk_dagster.evaluation.champions import select_champions
    from risk_dagster.evaluation.reports import write_reports

    preds, labels, _ = synthetic
    # date32 columns as they come out of the lake
    arrow_preds = pa.Table.from_pandas(preds, preserve_index=False).to_pandas()
    ev = evaluate(arrow_preds, labels, cfg=EvaluationConfig(bootstrap_samples=5))
    assert len(ev.rows) == 4 * 4 * 300
    pending = evaluate(preds, labels.assign(label_status="pending"))
    assert pending.per_trader.empty and select_champions(pending) == {}
    assert write_reports(pending, tmp_path)["key_numbers"] == {"n_rows": 0}
