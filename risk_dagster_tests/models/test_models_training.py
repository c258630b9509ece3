"""Walk-forward training: contract, skill, no leakage, reproducibility, pluggable storage."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from risk_dagster.models import PRED_COLUMNS, TrainingConfig, train_candidates
from risk_dagster.models.frames import training_frame
from risk_dagster.models.training import reusable_tuning


def test_oos_predictions_follow_the_contract(trader_result, synthetic):
    oos = trader_result.oos_predictions
    assert list(oos.columns) == PRED_COLUMNS
    assert set(oos["model"]) == {"logistic", "rules", "trader_lgbm"}
    assert oos[["p_large_loss", "pred_pnl", "var_05"]].notna().all().all()
    assert oos["p_large_loss"].between(0, 1).all()
    assert (oos["var_05"] < oos["pred_pnl"]).mean() > 0.95  # a 5% quantile sits below the mean
    # Every labelled row after the first test date is predicted once per family.
    features, labels = synthetic
    data = training_frame(features[features.trader_id == "T0001"], labels)
    first = pd.Timestamp(trader_result.fold_details[0]["test_start"])
    expected = int((data["trade_date"] >= first).sum())
    counts = oos[oos.model == "logistic"].groupby("fold").size()
    assert counts.sum() == expected and not oos.duplicated(["trade_date", "model"]).any()


def test_models_have_real_skill_out_of_sample(trader_result, pooled_result):
    assert pooled_result.cv_metrics["pooled_lgbm"]["auc"] > 0.72
    assert trader_result.cv_metrics["logistic"]["auc"] > 0.65
    assert trader_result.cv_metrics["trader_lgbm"]["auc"] > 0.65
    pooled = pooled_result.cv_metrics["pooled_lgbm"]
    # Better log-loss than always predicting the (hindsight) base rate; roughly calibrated;
    # the VaR is breached on about 5% of days.
    rate = pooled["base_rate"]
    assert pooled["logloss"] < -(rate * np.log(rate) + (1 - rate) * np.log(1 - rate)) - 0.05
    assert abs(pooled["mean_p"] - rate) < 0.08
    assert 0.01 < pooled["var_breach_rate"] < 0.12
    assert set(pooled_result.oos_predictions["trader_id"]) == {"T0001", "T0002", "T0003"}


def test_fold_choices_never_see_test_rows(synthetic, fast_cfg):
    """Poison every row from a fold's test start on (a feature equal to the label, a rescaled
    feature, flipped P&L): that fold's selected features and tuned parameters must not move."""
    features, labels = synthetic
    cfg = dataclasses.replace(fast_cfg, max_features=8, min_trader_rows=100)
    rng = np.random.default_rng(0)
    clean_f = features.assign(leak=rng.normal(size=len(features)))
    clean = train_candidates(clean_f, labels, "T0001", cfg).fold_details
    fold = next(d for d in clean if "trader_lgbm" in d)
    start = pd.Timestamp(fold["test_start"]).date()
    poisoned_f, poisoned_l = clean_f.copy(), labels.copy()
    late_f = poisoned_f["trade_date"] >= start
    late_l = poisoned_l["trade_date"] >= start
    merged = poisoned_f.merge(labels, on=["trade_date", "trader_id"], how="left")
    poisoned_f.loc[late_f, "leak"] = merged.loc[late_f, "large_loss"].astype(float).to_numpy()
    poisoned_f.loc[late_f, "f4"] = rng.normal(size=int(late_f.sum())) * 1e3
    poisoned_l.loc[late_l, "next_net_pnl"] *= -1.0
    dirty_all = train_candidates(poisoned_f, poisoned_l, "T0001", cfg)
    dirty = dirty_all.fold_details[fold["fold"]]
    assert "leak" not in dirty["selected"]
    assert dirty["selected"] == fold["selected"]
    assert dirty["trader_lgbm"]["structure"] == fold["trader_lgbm"]["structure"]
    assert dirty["trader_lgbm"]["rounds"] == fold["trader_lgbm"]["rounds"]
    # The poison is real: a model allowed to look at all rows picks the leak up.
    assert "leak" in dirty_all.final_models["logistic"].features


def test_seeded_runs_reproduce_and_journal_storage_gives_the_same_result(
    synthetic, fast_cfg, trader_result, tmp_path
):
    features, labels = synthetic
    journal = dataclasses.replace(fast_cfg, optuna_storage=f"journal:{tmp_path / 'optuna.log'}")
    again = train_candidates(features, labels, "T0001", journal)
    pd.testing.assert_frame_equal(again.oos_predictions, trader_result.oos_predictions)
    assert again.fold_details == trader_result.fold_details
    text = (tmp_path / "optuna.log").read_text()
    assert "trader_lgbm.T0001.fold1" in text and "trader_lgbm.T0001.final" in text


def test_final_fit_respects_the_cutoff_and_short_history_skips_trader_lgbm(synthetic, fast_cfg):
    features, labels = synthetic
    cutoff = pd.Timestamp("2023-12-29").date()
    short = dataclasses.replace(fast_cfg, cutoff=cutoff, min_trader_rows=10_000)
    res = train_candidates(features, labels, "T0003", short)
    assert set(res.final_models) == {"logistic", "rules"}
    assert "trader_lgbm" not in set(res.oos_predictions["model"])
    window = res.final_models["logistic"].meta["training_window"]
    assert window["last_label_date"] <= cutoff.isoformat()
    assert res.final_models["rules"].meta["cv_metrics"]["n"] > 0


def test_unknown_storage_spec_is_refused(synthetic, fast_cfg):
    features, labels = synthetic
    bad = dataclasses.replace(fast_cfg, optuna_storage="somewhere")
    with pytest.raises(ValueError, match="storage"):
        train_candidates(features, labels, "T0001", bad)


def test_a_trader_whose_positives_all_fall_in_the_calibration_slice_gets_rules_only(
        synthetic, fast_cfg):
    """Seen on the 500-trader simulated firm: every large loss of a quiet trader in the last
    fifth of its window. The logistic fit had one class and raised, stopping every trader."""
    features, labels = synthetic
    labels = labels.copy()
    mine = labels["trader_id"] == "T0002"
    dates = pd.to_datetime(labels.loc[mine, "trade_date"])
    late = dates >= dates.quantile(0.9)  # inside the final fit's calibration slice
    labels.loc[mine, "large_loss"] = np.where(late, labels.loc[mine, "large_loss"], 0)
    assert labels.loc[mine, "large_loss"].sum() > 0
    res = train_candidates(features, labels, "T0002", fast_cfg)
    assert set(res.final_models) == {"rules"}


def _record(trade: str, label: str, study: str) -> dict:
    return {"study": study, "last_trade_date": trade, "last_label_date": label,
            "structure": {"num_leaves": 7}, "rounds": {"classifier": 9}, "reused": False}


def test_reusable_tuning_only_from_earlier_labels_and_within_the_retune_window():
    sessions = pd.bdate_range("2024-01-01", "2024-03-29").to_numpy("datetime64[ns]")
    fit = pd.DataFrame({"trade_date": pd.to_datetime(["2024-01-02", "2024-03-01"]),
                        "label_date": pd.to_datetime(["2024-01-03", "2024-03-04"])})
    old = _record("2024-01-31", "2024-02-01", "old")  # 21 weekdays before 03-01
    recent = _record("2024-02-23", "2024-02-26", "recent")  # 5 weekdays before
    later_labels = _record("2024-02-28", "2024-03-05", "saw 03-05")  # labels past the fit's
    later_rows = _record("2024-03-04", "2024-03-04", "rows past")
    records = [old, recent, later_labels, later_rows]
    assert reusable_tuning(records, fit, sessions, 25)["study"] == "recent"  # the newest
    assert reusable_tuning([old, later_labels, later_rows], fit, sessions, 25)["study"] == "old"
    assert reusable_tuning([old, later_labels], fit, sessions, 20) is None  # too old: retune
    assert reusable_tuning(records, fit, sessions, None) is None  # the default: always tune


def test_a_refit_a_week_later_reuses_the_tuned_hyper_parameters(synthetic):
    features, labels = synthetic
    cfg = TrainingConfig(n_folds=2, n_trials=2, max_rounds=60, early_stopping_rounds=10,
                         min_trader_rows=150, min_trader_positives=15, seed=11,
                         retune_sessions=10)
    days = sorted(features["trade_date"].unique())
    week1 = features[features["trade_date"] <= days[-8]]
    first = train_candidates(week1, labels, "T0001", cfg)
    tuned = first.final_models["trader_lgbm"].meta["tuning"]
    # fold 0 is too short for a trader LightGBM: fold 1's study and the final fit's
    assert [r["study"].split(".")[-1] for r in tuned] == ["fold1", "final"]
    assert not any(r["reused"] for r in tuned)
    second = train_candidates(features[features["trader_id"] == "T0001"], labels, "T0001", cfg,
                              previous_tuning={"trader_lgbm": tuned})
    model = second.final_models["trader_lgbm"]
    final = model.meta["fit"]
    assert final["tuning"]["reused"] and final["trials"] == {}  # no study: a refit
    assert final["tuning"]["study"] == tuned[-1]["study"]  # the newest that may be reused
    assert final["structure"] == tuned[-1]["structure"] and \
        final["rounds"] == tuned[-1]["rounds"]
    # nothing reused had seen labels after the rows it is reused for
    assert final["tuning"]["last_label_date"] <= model.meta["training_window"]["last_label_date"]
    # the same rows tuned afresh (the default) give their own study
    fresh = train_candidates(features[features["trader_id"] == "T0001"], labels, "T0001",
                             dataclasses.replace(cfg, retune_sessions=None),
                             previous_tuning={"trader_lgbm": tuned})
    assert not fresh.final_models["trader_lgbm"].meta["fit"]["tuning"]["reused"]
    assert fresh.final_models["trader_lgbm"].meta["fit"]["trials"]
