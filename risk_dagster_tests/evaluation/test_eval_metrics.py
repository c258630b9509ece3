import math

import numpy as np
import pytest
from sklearn import metrics as skm

from risk_dagster.evaluation.metrics import (auc_score, average_precision,
                                             classification_metrics, kupiec_pof, rank_ic,
                                             regression_metrics, var_backtest)


def test_auc_perfect_reversed_and_tied():
    y = np.array([0, 0, 1, 1])
    assert auc_score(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert auc_score(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert auc_score(y, np.full(4, 0.3)) == 0.5


def test_metrics_match_sklearn_on_random_data():
    rng = np.random.default_rng(1)
    y = (rng.random(500) < 0.2).astype(int)
    p = np.round(np.clip(0.2 + 0.3 * (y - 0.2) + rng.normal(0, 0.2, 500), 0.01, 0.99), 2)
    m = classification_metrics(y, p)
    assert m["auc"] == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(y, p), abs=1e-12)
    assert m["brier"] == pytest.approx(skm.brier_score_loss(y, p), abs=1e-12)
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, p), abs=1e-9)
    assert m["brier_clim"] == pytest.approx(y.mean() * (1 - y.mean()))


def test_one_class_gives_nan_with_reason():
    m = classification_metrics(np.zeros(5), np.full(5, 0.1))
    assert math.isnan(m["auc"]) and math.isnan(m["pr_auc"])
    assert m["auc_reason"] == "one class only"
    assert m["brier"] == pytest.approx(0.01)
    assert classification_metrics(np.array([]), np.array([]))["auc_reason"] == "no rows"
    assert math.isnan(average_precision(np.ones(3), np.ones(3)))


def test_regression_metrics_by_hand():
    m = regression_metrics(np.array([100.0, -200.0, 0.0]), np.array([110.0, -170.0, 0.0]))
    assert m["rmse"] == pytest.approx(math.sqrt((100 + 900) / 3))
    assert m["mae"] == pytest.approx(40 / 3)


def test_kupiec_against_hand_computation():
    lr, p = kupiec_pof(10, 100, 0.05)
    hand = -2 * (90 * math.log(0.95) + 10 * math.log(0.05)) + 2 * (
        90 * math.log(0.90) + 10 * math.log(0.10))
    assert lr == pytest.approx(hand) and lr == pytest.approx(4.1308, abs=1e-3)
    assert p == pytest.approx(0.0421, abs=2e-4)  # 2 * (1 - Phi(sqrt(LR)))
    lr0, _ = kupiec_pof(0, 100, 0.05)
    assert lr0 == pytest.approx(-2 * 100 * math.log(0.95))
    assert kupiec_pof(5, 100, 0.05)[0] == pytest.approx(0.0, abs=1e-12)
    assert kupiec_pof(5, 100, 0.05)[1] == pytest.approx(1.0)


def test_var_backtest_counts_strict_violations():
    actual = np.array([-1000.0, -500.0, -499.0, 200.0])
    res = var_backtest(actual, np.full(4, -500.0))
    assert res["var_violations"] == 1 and res["var_violation_rate"] == 0.25
    assert res["kupiec_lr"] == pytest.approx(kupiec_pof(1, 4)[0])


def test_rank_ic_sign_and_degenerate():
    risk = np.array([0.1, 0.2, 0.3, 0.4])
    assert rank_ic(risk, np.array([50.0, 10.0, -5.0, -90.0]))["rank_ic"] == pytest.approx(-1.0)
    assert math.isnan(rank_ic(np.full(4, 0.2), np.arange(4.0))["rank_ic"])
    assert rank_ic(risk[:2], risk[:2])["rank_ic_reason"] == "fewer than 3 rows"
