"""Risk scores and plain-word reasons rendered with the features' actual values."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from risk_dagster.recommendations import BaselineWeights, rules_baseline
from risk_dagster.recommendations.reasons import render_reason, top_reasons

from .conftest import D, EARLIER, Inputs


@pytest.mark.parametrize("name,value,row,expected", [
    ("large_losses_5d", 3.0, {}, "3 large losses in the last 5 sessions"),
    ("large_losses_5d", 1.0, {}, "1 large loss in the last 5 sessions"),
    ("activity_ratio_21d", 2.4, {"net_pnl_d0": -900.0}, "traded 2.4× the trader's usual number of fills"),
    ("revenge_activity_d0", 2.4, {}, "traded 2.4× the usual number of fills the day after a large loss"),
    ("drawdown_21d", 4310.4, {}, "down $4,310 from the 21-session peak"),
    ("loss_streak", 5.0, {}, "5 losing days in a row"),
    ("net_pnl_d0", -2500.0, {}, "lost $2,500 on the last session"),
    ("days_since_large_loss", 0.0, {}, "a large loss on the last session"),
    ("days_since_large_loss", 3.0, {}, "last large loss 3 sessions ago"),
    ("size_ratio_21d", 1.75, {"net_pnl_d0": -1.0}, "orders 1.8× the trader's usual size"),
    ("large_loss_d0", math.nan, {}, "last session not judged for a large loss: no trade or too little history"),
])
def test_catalog_phrases_render_the_value(name, value, row, expected):
    assert render_reason(name, value, row, {}) == expected


def test_z_score_and_catalog_fallbacks():
    lookup = {"n_fills": ("fills per day", "count"), "fee_rate_bps": ("fee rate", "bps"),
              "gross_usd": ("gross P&L", "USD"), "buy_rate": ("share of buys", "fraction")}
    assert render_reason("n_fills_z21", 2.31, {}, lookup) == "fills per day is 2.3 sd above its 21-day usual"
    assert render_reason("spread_z63", -1.5, {}, lookup) == "spread is 1.5 sd below its 63-day usual"
    assert render_reason("fee_rate_bps", 0.42, {}, lookup) == "fee rate: 0.4 bps"
    assert render_reason("gross_usd", -1234.0, {}, lookup) == "gross P&L: -$1,234"
    assert render_reason("buy_rate", 0.73, {}, lookup) == "share of buys: 73%"
    assert render_reason("buy_rate", math.nan, {}, lookup) == "share of buys: no data"


def test_top_reasons_are_the_largest_positive_contributions():
    row = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0, "e": 5.0}
    contrib = {"a": 0.1, "b": 0.5, "c": -0.9, "d": 0.3, "e": 0.2, "bias": 9.0}
    got = [k for k, _ in top_reasons(contrib, row, None, n=3)]
    assert got == ["b", "d", "e"]
    assert top_reasons({"a": -1.0}, row, None) == []


def test_risk_scores_use_the_latest_row_and_map_probability_to_score(inputs: Inputs):
    inputs.set_feature("T0002", "large_losses_5d", 3.0)
    inputs.set_feature("T0002", "large_losses_5d", 0.0, date=EARLIER)
    inputs.set_feature("T0002", "drawdown_21d", 4310.0)
    inputs.set_feature("T0002", "n_fills_z21", 2.34)
    inputs.set_prediction("T0002", p_large_loss=0.374, var_05=-2500.0)
    c = inputs.contributions
    c.loc[c.trader_id == "T0002", ["large_losses_5d", "drawdown_21d", "n_fills_z21", "loss_streak"]] = \
        [0.2, 0.9, 0.5, 0.1]
    s = inputs.scores().set_index("trader_id")
    assert s.loc["T0002", "risk_score"] == 37.4
    assert s.loc["T0001", "risk_score"] == 5.0
    assert s.loc["T0002", "trade_date"] == D
    assert s.loc["T0002", "reasons"] == [
        "down $4,310 from the 21-session peak",
        "fills per day is 2.3 sd above its 21-day usual",
        "3 large losses in the last 5 sessions",
    ]
    assert s.loc["T0002", "reason_features"] == ["drawdown_21d", "n_fills_z21", "large_losses_5d"]
    assert s.loc["T0001", "reasons"] == []  # no positive contribution, no invented reason
    assert set(s["model_version"]) == {"v7"} and set(s["score_source"]) == {"model"}


def test_contributions_aligned_on_the_features_index(inputs: Inputs):
    feats = inputs.features
    contrib = pd.DataFrame(0.0, index=feats.index, columns=["loss_streak", "drawdown_21d"])
    contrib.loc[(feats.trader_id == "T0003") & (feats.trade_date == D), "loss_streak"] = 1.0
    inputs.set_feature("T0003", "loss_streak", 2.0)
    inputs.contributions = contrib
    s = inputs.scores().set_index("trader_id")
    assert s.loc["T0003", "reasons"] == ["2 losing days in a row"]


def test_missing_prediction_falls_back_to_rules_baseline(inputs: Inputs):
    inputs.predictions = inputs.predictions[inputs.predictions.trader_id != "T0004"]
    inputs.set_feature("T0004", "large_losses_5d", 2.0)
    s = inputs.scores().set_index("trader_id")
    assert s.loc["T0004", "score_source"] == "rules_baseline"
    assert s.loc["T0004", "p_large_loss"] == pytest.approx(0.10 + 2 * 0.08)
    assert s.loc["T0004", "var_05"] == pytest.approx(-1.645 * 800.0)
    assert s.loc["T0004", "reasons"][0].startswith("no model prediction")
    assert "2 large losses in the last 5 sessions" in s.loc["T0004", "reasons"]


def test_rules_baseline_increments():
    f = pd.DataFrame({
        "net_pnl_d0": [-500.0, 100.0], "loss_streak": [9.0, 0.0], "drawdown_21d": [5000.0, 0.0],
        "large_losses_5d": [1.0, 0.0], "pnl_vol_21d": [1000.0, 1000.0],
        "activity_ratio_21d": [3.0, 3.0], "size_ratio_21d": [2.0, 1.0],
        "days_since_large_loss": [1.0, float("nan")],
    }, index=["X", "Y"])
    w = BaselineWeights()
    scores, contrib = rules_baseline(f, w)
    # streak capped at 4 extra days; activity counts only after a loss
    expected_x = 0.10 + 4 * 0.03 + 0.08 + 0.08 + 0.06 + 0.05 + 0.04
    assert scores.loc["X", "p_large_loss"] == pytest.approx(expected_x)
    assert scores.loc["Y", "p_large_loss"] == pytest.approx(0.10)
    assert contrib.loc["Y"].sum() == 0.0
    assert math.isnan(scores.loc["X", "pred_pnl"])
