"""The published VaR: the champion's forecast x its conformal scale x the firm-wide tracked
multiplier, moved on each morning by the outcomes of the VaRs published before (read from the
stored risk_scores and risk_labels)."""

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from risk_dagster.core.lake import Lake
from risk_dagster.core.tables import read_live_multiplier, read_published_outcomes
from risk_dagster.evaluation.champions import write_champion
from risk_dagster.evaluation.var_calibration import Multiplier
from risk_dagster.models import save_model
from risk_dagster.models.baselines import RULE_THRESHOLDS, RulesRiskModel
from risk_dagster.models.calibration import Platt
from risk_dagster.scoring import score_with_champions

DAY = dt.date(2024, 6, 5)


def _history() -> pd.DataFrame:
    days = pd.bdate_range("2024-03-01", DAY)
    rng = np.random.default_rng(4)
    return pd.DataFrame({"trade_date": days.date, "trader_id": "T0001",
                         "loss_streak": 0.0, "drawdown_21d": -100.0,
                         "net_pnl_d0": rng.normal(0, 500, len(days)),
                         "pnl_vol_21d": 500.0, "large_losses_5d": 0.0, "traded_d0": 1.0})


def _score(tmp_path, calibration, load_outcomes=None, carried=None):
    models = tmp_path / "models"
    model = RulesRiskModel("T0001", {k: list(v) for k, v in RULE_THRESHOLDS.items()},
                           Platt(a=0.5, b=-2.0, fitted=True), 63, 10, 0.0, -800.0)
    model.meta = {"training_window": {"first_trade_date": "2024-03-01",
                                      "last_trade_date": "2024-05-31",
                                      "last_label_date": "2024-05-31", "cutoff": None},
                  "cv_metrics": {}, "data_fingerprint": "test", "config": {}}
    path = save_model(model, models)
    write_champion(models, "T0001", {"family": "rules", "chosen": "rules",
                                     "path": path.relative_to(tmp_path).as_posix(),
                                     **({"var_calibration": calibration} if calibration else {})})
    history = _history()
    latest = history[history["trade_date"] == DAY].reset_index(drop=True)
    return score_with_champions(latest, lambda cols: history, DAY, models, load_outcomes,
                                carried)


def test_the_published_var_is_the_forecast_times_scale_times_the_tracked_multiplier(tmp_path):
    raw = _score(tmp_path / "a", None).predictions["var_05"].iloc[0]
    assert raw < 0
    calibration = {"scale": 2.0, "n": 40, "scope": "trader", "level": 0.05,
                   "multiplier": 1.5, "multiplier_as_of": "2024-05-31"}
    trained = _score(tmp_path / "b", calibration)
    assert trained.predictions["var_05"].iloc[0] == pytest.approx(raw * 2.0 * 1.5)
    assert trained.var_multiplier == {"multiplier": pytest.approx(1.5),
                                      "multiplier_as_of": "2024-05-31", "at_training": 1.5,
                                      "start": 1.5, "start_from": "evaluation",
                                      "outcomes_counted": 0}
    seen = []

    def outcomes(after):
        seen.append(after)  # one violation among the 2 outcomes labelled after the evaluation
        return pd.DataFrame({"label_date": [dt.date(2024, 6, 3), dt.date(2024, 6, 3)],
                             "violated": [True, False]})

    moved = _score(tmp_path / "c", calibration, outcomes)
    assert seen == [dt.date(2024, 5, 31)]
    m = math.exp(math.log(1.5) + 0.05 * (1 - 0.05 * 2))  # eta x (violations - level x n)
    assert moved.predictions["var_05"].iloc[0] == pytest.approx(raw * 2.0 * m)
    assert moved.var_multiplier["outcomes_counted"] == 2
    assert moved.var_multiplier["multiplier_as_of"] == "2024-06-03"


def test_published_outcomes_are_read_from_scores_and_labels_known_by_the_day(tmp_path):
    lake = Lake(tmp_path)
    assert read_published_outcomes(lake, None, DAY, "model").empty  # nothing stored yet
    days = [dt.date(2024, 5, 30), dt.date(2024, 5, 31), dt.date(2024, 6, 3), DAY]
    for i, d in enumerate(days):
        lake.write("risk_scores", "date", d.isoformat(), pd.DataFrame({
            "trader_id": ["T0001", "T0002"], "trade_date": pd.Timestamp(d),
            "var_05": [-100.0, -100.0], "score_source": ["model", "rules_baseline"]}))
        nxt = days[i + 1] if i + 1 < len(days) else dt.date(2024, 6, 6)
        lake.write("risk_labels", "date", d.isoformat(), pd.DataFrame({
            "trade_date": d, "trader_id": ["T0001", "T0002"], "label_date": nxt,
            "next_net_pnl": [-150.0 if i % 2 else -50.0, -500.0],
            "label_status": "complete" if nxt <= DAY else "pending",
            "large_loss": 0.0}))
    got = read_published_outcomes(lake, dt.date(2024, 5, 31), DAY, "model")
    # 05-30 is labelled 05-31 (counted already); 06-05's own score is the day's; its label is
    # pending anyway; T0002's scores are the rules baseline's
    assert got["trade_date"].tolist() == [dt.date(2024, 5, 31), dt.date(2024, 6, 3)]
    assert got["label_date"].tolist() == [dt.date(2024, 6, 3), DAY]
    assert got["violated"].tolist() == [True, False] and set(got["trader_id"]) == {"T0001"}
    assert len(read_published_outcomes(lake, None, DAY, "model")) == 3


def test_the_state_the_previous_scores_were_published_with_goes_on_past_an_evaluation(tmp_path):
    raw = _score(tmp_path / "a", None).predictions["var_05"].iloc[0]
    calibration = {"scale": 2.0, "n": 40, "scope": "trader", "level": 0.05,
                   "multiplier": 1.5, "multiplier_as_of": "2024-05-31"}
    seen = []

    def outcomes(after):
        seen.append(after)  # 2 of the 4 outcomes labelled after the carried state violated
        return pd.DataFrame({"label_date": [dt.date(2024, 6, 4)] * 4,
                             "violated": [True, True, False, False]})

    carried = Multiplier(math.log(2.0), dt.date(2024, 6, 3))
    got = _score(tmp_path / "b", calibration, outcomes, carried)
    assert seen == [dt.date(2024, 6, 3)]  # not the evaluation's 05-31
    m = math.exp(math.log(2.0) + 0.05 * (2 - 0.05 * 4))  # 2 x e^0.09
    assert m == pytest.approx(2.18835, abs=1e-5)
    assert got.predictions["var_05"].iloc[0] == pytest.approx(raw * 2.0 * m)
    assert got.var_multiplier == {"multiplier": pytest.approx(m), "multiplier_as_of": "2024-06-04",
                                  "at_training": pytest.approx(1.5), "start": pytest.approx(2.0),
                                  "start_from": "previous scores", "outcomes_counted": 4}


def test_the_carried_multiplier_is_the_latest_model_scores_before_the_day(tmp_path):
    lake = Lake(tmp_path)
    assert read_live_multiplier(lake, DAY, "model") is None  # nothing scored yet
    lake.write("risk_scores", "date", "2024-05-29", pd.DataFrame({  # before the column existed
        "trader_id": ["T0001"], "trade_date": pd.Timestamp("2024-05-29"), "var_05": [-100.0],
        "score_source": ["model"]}))
    assert read_live_multiplier(lake, DAY, "model") is None
    for day, m, as_of in (("2024-05-31", 1.2, "2024-05-30"), ("2024-06-03", 1.3, "2024-05-31"),
                          ("2024-06-05", 1.4, "2024-06-04")):
        lake.write("risk_scores", "date", day, pd.DataFrame({
            "trader_id": ["T0001", "T0002"], "trade_date": pd.Timestamp(day),
            "var_05": [-100.0, -90.0], "score_source": ["model", "rules_baseline"],
            "var_multiplier": [m, np.nan],
            "var_multiplier_as_of": pd.to_datetime([as_of, None])}))
    assert read_live_multiplier(lake, DAY, "model") == (1.3, dt.date(2024, 5, 31))
    assert read_live_multiplier(lake, dt.date(2024, 6, 3), "model") == (1.2, dt.date(2024, 5, 30))
    assert read_live_multiplier(lake, dt.date(2024, 6, 6), "model") == (1.4, dt.date(2024, 6, 4))
    assert read_live_multiplier(lake, DAY, "rules_baseline") is None  # no multiplier there
