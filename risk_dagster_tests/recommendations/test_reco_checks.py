"""Publish checks pass on good recommendations and fail on crafted bad ones; the audit record."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from risk_dagster.recommendations import RecommendationConfig, publish_checks, to_audit_json

from .conftest import TODAY, TRADERS, Inputs

CFG = RecommendationConfig()


def _checks(recs: pd.DataFrame, active=TRADERS, cfg=CFG) -> dict[str, object]:
    return {c.name: c for c in publish_checks(recs.reset_index(drop=True), active, cfg, today=TODAY)}


def _failed(recs: pd.DataFrame, active=TRADERS) -> set[str]:
    return {n for n, c in _checks(recs, active).items() if not c.passed}


@pytest.fixture
def good(inputs: Inputs) -> pd.DataFrame:
    inputs.set_feature("T0002", "net_pnl_d0", -6_000.0)  # a halt, so the hard-limit check has work
    inputs.set_feature("T0003", "loss_streak", 5.0)
    return inputs.run()[0]


def test_good_recommendations_pass_every_check(good):
    checks = _checks(good)
    assert set(checks) == {"check_every_active_trader_once", "check_values_in_range",
                           "check_hard_limits_enforced", "check_model_freshness",
                           "check_data_freshness"}
    assert all(c.passed for c in checks.values()), checks


def test_missing_duplicate_and_unknown_traders_fail(good):
    assert _failed(good.iloc[1:]) == {"check_every_active_trader_once"}
    dup = pd.concat([good, good.iloc[[0]]])
    assert "check_every_active_trader_once" in _failed(dup)
    detail = _checks(good, active=TRADERS[:3])["check_every_active_trader_once"].detail
    assert detail == "T0004 is not active"


@pytest.mark.parametrize("col,value", [
    ("p_large_loss", 1.2), ("p_large_loss", float("nan")), ("risk_score", 101.0),
    ("size_multiplier", 1.5), ("daily_loss_limit_usd", -1.0), ("max_position_notional_usd", -5.0),
    ("level", "paused"),
])
def test_out_of_range_values_fail(good, col, value):
    bad = good.copy()
    bad[col] = bad[col].astype(object)
    bad.loc["T0001", col] = value
    assert "check_values_in_range" in _failed(bad)
    assert "T0001" in _checks(bad)["check_values_in_range"].detail


def test_multiplier_must_match_its_level(good):
    bad = good.copy()
    bad.loc["T0003", "size_multiplier"] = 1.0  # T0003 is on reduce (0.5)
    assert _failed(bad) == {"check_values_in_range"}


@pytest.mark.parametrize("trader,level", [("T0002", "close-only"), ("T0003", "normal")])
def test_a_trader_beyond_a_hard_limit_left_loose_fails(good, trader, level):
    bad = good.copy()
    bad.loc[trader, "level"] = level
    bad.loc[trader, "size_multiplier"] = CFG.size_multiplier[level]
    assert _failed(bad) == {"check_hard_limits_enforced"}


def test_firm_loss_and_sharpe_demands_are_checked(good):
    bad = good.copy()
    bad["firm_loss_breached"] = True  # firm breach but T0001 / T0004 left at normal
    assert "T0001: firm loss needs reduce" in _checks(bad)["check_hard_limits_enforced"].detail
    bad = good.copy()
    bad.loc["T0004", "sharpe_6w"] = 0.1
    assert _failed(bad) == {"check_hard_limits_enforced"}


def test_stale_model_still_in_use_fails(good):
    bad = good.copy()
    bad["model_trained_on"] = TODAY - dt.timedelta(days=60)  # score_source still 'model'
    assert _failed(bad) == {"check_model_freshness"}
    bad["model_trained_on"] = None
    assert "no model training date" in _checks(bad)["check_model_freshness"].detail


def test_stale_data_checks(inputs: Inputs):
    f = inputs.features
    f.loc[f.trader_id == "T0004", "trade_date"] = dt.date(2024, 2, 28)
    inputs.predictions.loc[inputs.predictions.trader_id == "T0004", "trade_date"] = dt.date(2024, 2, 28)
    recs = inputs.run()[0]
    assert _failed(recs) == set()  # 3 sessions old, on the fallback: publishable
    tampered = recs.copy()
    tampered.loc["T0004", ["score_source", "level"]] = ["model", "normal"]
    assert _failed(tampered) == {"check_data_freshness"}
    ancient = recs.copy()
    ancient.loc["T0004", "trade_date"] = dt.date(2024, 2, 20)  # 8 sessions: beyond the publish limit
    assert "publish limit 5" in _checks(ancient)["check_data_freshness"].detail


def test_audit_record_is_json_safe_and_pins_inputs(inputs: Inputs):
    cfg = RecommendationConfig(kill_switch_usd=2_500.0)
    inputs.set_feature("T0002", "net_pnl_d0", -3_000.0)
    recs, summary = inputs.run(cfg)
    checks = publish_checks(recs.reset_index(drop=True), TRADERS, cfg, today=TODAY)
    named = {"features": inputs.features, "predictions": inputs.predictions,
             "history": inputs.history}
    record = to_audit_json(recs, summary, cfg, today=TODAY, inputs=named, checks=checks)
    text = json.dumps(record, allow_nan=False)
    assert json.loads(text) == record
    assert record["for_date"] == "2024-03-05"
    assert record["thresholds"] == json.loads(json.dumps(cfg.to_dict()))
    assert record["thresholds"]["kill_switch_usd"] == 2_500.0
    assert record["models"] == [{"family": "pooled_lgbm", "version": "v7",
                                 "trained_on": "2024-02-24", "score_source": "model"}]
    assert record["inputs"]["features"]["rows"] == 8
    assert all(c["passed"] for c in record["checks"])
    assert record["firm_summary"]["halted"][0]["trader_id"] == "T0002"
    # a changed input changes its fingerprint, and only its own
    inputs.history.loc[0, "net_pnl"] += 1.0
    again = to_audit_json(recs, summary, cfg, today=TODAY, inputs=named, checks=checks)
    assert again["inputs"]["history"]["sha256"] != record["inputs"]["history"]["sha256"]
    assert again["inputs"]["features"] == record["inputs"]["features"]
    assert again["output"] == record["output"]
