"""The drift study's helpers on a tiny simulated firm: the injected change shows in the frames,
champions are picked by the evaluation stage's rule and see nothing after their cutoff, metrics and
windows are the ones stated."""

import datetime as dt
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from risk_dagster.core.lake import Lake
from risk_dagster.evaluation import EvaluationConfig
from risk_dagster.models import TrainingConfig
from bench.simulation_study import (
    alarm_features, choose_champion, full_period_traders, nth_session_after, predict_history,
    probability_metrics, score_window, simulate_frames, train_champion,
)
from risk_dagster.simulator import InjectedChange, SimulationConfig
from risk_dagster_tests.evaluation.conftest import make_synthetic

CHANGE = dt.date(2024, 7, 1)
AFFECTED = ("T0002", "T0003")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    cfg = SimulationConfig(n_traders=6, start=dt.date(2024, 1, 2), end=dt.date(2024, 8, 30),
                           seed=3, changes=(InjectedChange(CHANGE, "trader_behaviour",
                                                           trader_ids=AFFECTED, size_mult=3.0),))
    return cfg, simulate_frames(cfg, Lake(tmp_path_factory.mktemp("lake")))


def test_frames_cover_the_sessions_and_show_the_injected_size_change(study):
    cfg, data = study
    feats = data["features"]
    assert data["dates"][0] == dt.date(2024, 1, 2) and data["dates"][-1] == dt.date(2024, 8, 30)
    assert isinstance(feats["trade_date"].iloc[0], dt.date) and data["fills"] > 0
    assert len(data["labels"]) == len(feats)
    size = feats.groupby(["trader_id", feats["trade_date"] >= CHANGE])["avg_order_notional_d0"].median()
    ratio = (size.xs(True, level=1) / size.xs(False, level=1)).dropna()
    # x3 orders (plus tilt) for the affected traders; the others' sizes are unchanged on median
    assert (ratio[list(AFFECTED)] > 2.0).all()
    assert ratio.drop(list(AFFECTED)).between(0.6, 1.6).all()


def test_full_period_traders_are_on_the_roster_first_and_last_day(study):
    cfg, data = study
    stable = full_period_traders(cfg)
    assert stable and set(stable) <= {f"T{i:04d}" for i in range(1, 7)}
    feats = data["features"]
    for t in stable:
        days = feats.loc[feats["trader_id"] == t, "trade_date"]
        assert days.min() == data["dates"][0] and days.max() == data["dates"][-1]


def test_champion_never_sees_labels_after_its_cutoff(study):
    _, data = study
    cutoff = dt.date(2024, 6, 28)
    model = train_champion(data["features"], data["labels"], "T0005", cutoff,
                           TrainingConfig(n_folds=1, n_trials=2, min_train_sessions=60))
    # the evaluation stage's rule: too few out-of-sample rows here to pass, so its rules fallback
    assert model is not None and model.family in ("trader_lgbm", "logistic", "rules")
    window = model.meta["training_window"]
    assert dt.date.fromisoformat(window["last_label_date"]) <= cutoff
    pred = predict_history(model, data["features"], "T0005")
    assert len(pred) == (data["features"]["trader_id"] == "T0005").sum()
    assert pred["p_large_loss"].between(0, 1).all()
    scored = score_window(pred, data["labels"], CHANGE, dt.date(2024, 8, 30))
    assert scored["trade_date"].min() >= CHANGE and set(scored["large_loss"]) <= {0, 1}


def test_choose_champion_is_the_evaluation_stages_rule():
    preds, labels, _ = make_synthetic(n_traders=1)
    models = {"pooled_lgbm": "P", "trader_lgbm": "L", "logistic": "G", "rules": "R"}
    cfg = EvaluationConfig(bootstrap_samples=10)

    def chosen(families, final_models=models, frame=preds):
        rows = frame[frame["model"].isin(families)]
        return choose_champion(SimpleNamespace(oos_predictions=rows, final_models=final_models),
                               labels, cfg)

    assert chosen(["pooled_lgbm", "trader_lgbm", "logistic", "rules"]) == "P"  # the only pass
    # trader_lgbm's noisier view fails the climatological Brier, logistic (noise) min_auc too:
    # no pooled model, so the rules fallback
    assert chosen(["trader_lgbm", "logistic", "rules"]) == "R"
    sharp = preds[preds["model"] != "trader_lgbm"].replace({"model": {"pooled_lgbm": "trader_lgbm"}})
    assert chosen(["trader_lgbm", "logistic", "rules"], frame=sharp) == "L"  # now it passes
    # no out-of-sample rows: the first of FALLBACK_FAMILIES trained (pooled, then rules)
    assert chosen([]) == "P"
    assert chosen([], {"logistic": "G", "rules": "R"}) == "R"
    assert chosen([], {"logistic": "G"}) is None


def test_probability_metrics_values():
    scored = pd.DataFrame({"trader_id": ["A"] * 4 + ["B"] * 2,
                           "p_large_loss": [0.1, 0.2, 0.8, 0.9, 0.5, 0.5],
                           "large_loss": [0, 0, 1, 1, 0, 0]})
    m = probability_metrics(scored)
    assert m["n"] == 6 and m["positives"] == 2 and m["base_rate"] == pytest.approx(1 / 3)
    assert m["auc"] == 1.0 and m["mean_trader_auc"] == 1.0  # B has one class: not averaged
    assert m["brier"] == pytest.approx((0.01 + 0.04 + 0.04 + 0.01 + 0.25 + 0.25) / 6)
    expected = -np.mean(np.log([0.9, 0.8, 0.8, 0.9, 0.5, 0.5]))
    assert m["logloss"] == pytest.approx(expected)
    assert math.isnan(probability_metrics(scored.iloc[4:])["auc"])


def test_alarm_features_and_nth_session():
    scan = pd.DataFrame({"drifted": [True, True, False],
                         "reason": ["drift: a_d0 (shift 5d, +4.1 sd, q=0.001), b (KS 20d, q=1e-05)",
                                    "drift: a_d0 (shift 5d, -5.0 sd, q=0.0001)",
                                    "no drift (smallest q=0.3 > alpha=0.002)"]})
    assert alarm_features(scan).to_dict() == {"shift 5d a_d0": 2, "KS 20d b": 1}
    days = [dt.date(2025, 6, d) for d in (2, 3, 4, 5, 6, 9)]
    assert nth_session_after(days, dt.date(2025, 6, 1), 1) == dt.date(2025, 6, 2)
    assert nth_session_after(days, dt.date(2025, 6, 3), 4) == dt.date(2025, 6, 6)
    with pytest.raises(ValueError):
        nth_session_after(days, dt.date(2025, 6, 6), 3)
