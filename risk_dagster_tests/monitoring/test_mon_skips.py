"""Monitoring never dies on a date or a trader it cannot judge: it records why and goes on.

An exchange holiday (no trader row), a trader without a champion and a champion whose reference
is too short are each skipped with a reason, in the drift report and in the asset metadata; a
range run over a holiday completes (it used to die with ``KeyError: 'trader_id'``).
"""

import datetime as dt

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from risk_dagster.core.lake import Lake
from risk_dagster.defs.resources import LakeResource, MonitoringSettings, TradeSource
from risk_dagster.evaluation.champions import write_champion
from risk_dagster.models import save_model
from risk_dagster.models.baselines import RULE_THRESHOLDS, RulesRiskModel
from risk_dagster.models.calibration import Platt
from risk_dagster.monitoring import MonitoringConfig
from risk_dagster.monitoring.drift_report import REPORT_COLUMNS, champion_drift_report
from risk_dagster.defs.partitions import RANGE_END_TAG, RANGE_START_TAG
from risk_dagster_tests.factories import date_assets

HOLIDAY = dt.date(2024, 7, 4)  # Independence Day: a weekday, not an XNYS session
TRAINED_TO = dt.date(2024, 5, 31)


def _sessions(first: dt.date, last: dt.date) -> list[dt.date]:
    from risk_dagster.core.calendar import sessions

    return [d.date() for d in sessions("XNYS", first, last)]


def _features(traders=("T0001", "T0002"), first=dt.date(2024, 1, 2), last=dt.date(2024, 7, 8)):
    rng = np.random.default_rng(5)
    days = _sessions(first, last)
    rows = []
    for tid in traders:
        for d in days:
            pnl = float(rng.normal(0, 500))
            rows.append({"trade_date": d, "trader_id": tid, "net_pnl_d0": pnl,
                         "pnl_vol_21d": 500.0, "loss_streak": float(rng.integers(0, 4)),
                         "win_streak": float(rng.integers(0, 4)),
                         "drawdown_21d": float(abs(rng.normal(0, 800))),
                         "large_losses_5d": float(rng.integers(0, 2)),
                         "large_loss_d0": float(pnl < -700), "days_since_large_loss": 5.0,
                         "n_fills_d0": float(rng.poisson(40)), "n_orders_d0": float(rng.poisson(15)),
                         "avg_order_notional_d0": float(rng.lognormal(9, 0.2)),
                         "notional_d0": float(rng.lognormal(12, 0.2)),
                         "max_position_notional_d0": float(rng.lognormal(11, 0.2)),
                         "n_round_trips_d0": float(rng.poisson(8))})
    return pd.DataFrame(rows)


def _labels(features):
    f = features.sort_values(["trader_id", "trade_date"])
    nxt = f.groupby("trader_id")["net_pnl_d0"].shift(-1)
    return pd.DataFrame({"trade_date": f["trade_date"], "trader_id": f["trader_id"],
                         "next_net_pnl": nxt, "large_loss": (nxt < -700).astype(float),
                         "label_status": np.where(nxt.notna(), "complete", "pending")})


def _rules_champion(models_root, tid: str, trained_to: dt.date) -> None:
    model = RulesRiskModel(tid, {k: list(v) for k, v in RULE_THRESHOLDS.items()},
                           Platt(a=0.5, b=-2.0, fitted=True), 63, 10, 0.0, -800.0)
    model.meta = {"training_window": {"first_trade_date": "2024-01-02",
                                      "last_trade_date": trained_to.isoformat(),
                                      "last_label_date": trained_to.isoformat(), "cutoff": None},
                  "cv_metrics": {"auc": 0.6, "brier": 0.09}, "data_fingerprint": "test",
                  "config": {}}
    path = save_model(model, models_root)
    write_champion(models_root, tid, {"family": "rules", "chosen": "rules", "path": str(path)})


def test_a_date_without_any_trader_row_is_an_empty_report_with_every_column(tmp_path):
    features = _features()
    report = champion_drift_report(features[features["trade_date"] < HOLIDAY], _labels(features),
                                   HOLIDAY, tmp_path / "models", MonitoringConfig(),
                                   calendar="XNYS")
    assert report.empty
    assert list(report.columns) == list(REPORT_COLUMNS)


def test_no_champion_and_a_short_reference_are_skipped_with_their_reason(tmp_path):
    features = _features()
    _rules_champion(tmp_path / "models", "T0001", TRAINED_TO)
    day = dt.date(2024, 7, 3)
    report = champion_drift_report(features[features["trade_date"] <= day], _labels(features),
                                   day, tmp_path / "models", MonitoringConfig(), calendar="XNYS")
    by = report.set_index("trader_id")
    assert list(by.index) == ["T0001", "T0002"]
    assert by.loc["T0002", "status"] == "no champion"
    assert by.loc["T0002", "skip_reason"].startswith("no champion")
    # T0001's reference: its sessions up to 2024-05-31 (105) minus the 21-row warm-up = 84 < 120
    assert by.loc["T0001", "status"] == "checked"
    assert not by.loc["T0001", "drift_tested"]
    assert by.loc["T0001", "skip_reason"].startswith("reference too short: not tested: 84 "
                                                     "reference rows (< 120")
    assert not by.loc["T0001", "drifted"] and not by["retrain"].any()
    # inside the training window: nothing after it to compare
    inside = champion_drift_report(features[features["trade_date"] <= TRAINED_TO],
                                   _labels(features), TRAINED_TO, tmp_path / "models",
                                   MonitoringConfig(), calendar="XNYS")
    assert inside.set_index("trader_id").loc["T0001", "skip_reason"].startswith(
        "inside training window")


@pytest.fixture()
def lake_with_holiday(tmp_path):
    lake = Lake(tmp_path)
    features = _features()
    labels = _labels(features)
    for day, part in features.groupby("trade_date"):
        lake.write("trader_features", "date", day.isoformat(), part)
    for day, part in labels.groupby("trade_date"):
        lake.write("risk_labels", "date", day.isoformat(), part)
    _rules_champion(tmp_path / "models", "T0001", TRAINED_TO)
    return tmp_path


def test_a_range_over_a_holiday_completes_and_records_the_skipped_date(lake_with_holiday):
    root = lake_with_holiday
    resources = {"lake": LakeResource(data_dir=str(root)),
                 "source": TradeSource(kind="simulator", data_dir=str(root)),
                 "monitoring": MonitoringSettings()}
    with dg.instance_for_test() as instance:
        result = dg.materialize([date_assets()["drift_report"]], instance=instance, resources=resources,
                                tags={RANGE_START_TAG: "2024-07-01", RANGE_END_TAG: "2024-07-08"},
                                raise_on_error=False)
    assert result.success
    meta = result.asset_materializations_for_node("drift_report")[0].metadata
    # 07-04 is a holiday; 07-06/07 are a weekend, not partitions of a weekday calendar
    assert meta["skipped_dates"].value == {
        "2024-07-04": "not a session of the XNYS calendar (exchange holiday or weekend)"}
    assert meta["dates_skipped"].value == 1
    assert meta["last_date"].value == "2024-07-08"
    assert "no champion" in meta["traders_not_drift_tested"].value
    assert "reference too short" in meta["traders_not_drift_tested"].value
    stored = Lake(root).read_df("drift_report", "date")
    assert sorted(stored["trade_date"].astype(str).unique()) == [
        "2024-07-01", "2024-07-02", "2024-07-03", "2024-07-05", "2024-07-08"]
    assert Lake(root).keys("drift_report", "date").count("2024-07-04") == 1  # empty, stored
