"""recommend: each hard rule with hand-made inputs, rules only stricter, limits, firm summary."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from risk_dagster.recommendations import LEVELS, RecommendationConfig
from risk_dagster.recommendations.config import LEVEL_RANK

from .conftest import D, TODAY, TRADERS, Inputs

RANK = LEVEL_RANK


def test_calm_firm_is_all_normal_with_full_limits(inputs: Inputs):
    recs, summary = inputs.run()
    assert list(recs["level"]) == ["normal"] * 4
    assert (recs["size_multiplier"] == 1.0).all()
    # |var_05| 1,000 x 2 = 2,000, inside [0.5%, 3%] of 100k
    assert (recs["daily_loss_limit_usd"] == 2000.0).all()
    assert (recs["max_position_notional_usd"] == 200_000.0).all()
    assert recs["rule_hits"].map(len).sum() == 0
    assert summary["counts"] == {"normal": 4, "warn": 0, "reduce": 0, "close-only": 0, "halt": 0}
    assert summary["firm_pnl_usd"] == 800.0 and summary["last_session"] == D.isoformat()


@pytest.mark.parametrize("loss,halted", [(5_001.0, True), (4_999.0, False)])
def test_kill_switch_by_share_of_capital(inputs: Inputs, loss, halted):
    inputs.set_feature("T0002", "net_pnl_d0", -loss)
    recs, summary = inputs.run()
    assert (recs.loc["T0002", "level"] == "halt") is halted
    assert bool(recs.loc["T0002", "size_multiplier"] == 0.0) is halted
    assert recs.loc["T0001", "level"] == "normal"
    if halted:
        assert recs.loc["T0002", "rule_hits"] == ["kill_switch"]
        assert recs.loc["T0002", "reasons"][0] == (
            "lost $5,001 on the last session, above the $5,000 kill switch")
        assert recs.loc["T0002", "daily_loss_limit_usd"] == 0.0
        assert [h["trader_id"] for h in summary["halted"]] == ["T0002"]


def test_kill_switch_by_absolute_amount(inputs: Inputs):
    inputs.set_feature("T0003", "net_pnl_d0", -2_500.0)
    assert inputs.run()[0].loc["T0003", "level"] == "normal"
    recs, _ = inputs.run(RecommendationConfig(kill_switch_usd=2_000.0))
    assert recs.loc["T0003", "level"] == "halt"
    assert "above the $2,000 kill switch" in recs.loc["T0003", "reasons"][0]


def test_kill_switch_uses_the_traders_own_capital(inputs: Inputs):
    inputs.set_feature("T0004", "net_pnl_d0", -1_500.0)
    recs, _ = inputs.run(RecommendationConfig(capital_by_trader={"T0004": 20_000.0}))
    assert recs.loc["T0004", "level"] == "halt"  # 1,500 > 5% of 20,000
    assert recs.loc["T0004", "capital_usd"] == 20_000.0


@pytest.mark.parametrize("firm_pnl,breached", [(-12_100.0, True), (-11_900.0, False)])
def test_firm_loss_puts_everyone_at_least_on_reduce(inputs: Inputs, firm_pnl, breached):
    last = inputs.history["trade_date"] == D
    inputs.history.loc[last, "net_pnl"] = firm_pnl / 4  # firm capital 400k, limit 3% = 12,000
    inputs.set_prediction("T0001", p_large_loss=0.5)  # the model alone says close-only
    recs, summary = inputs.run()
    assert summary["firm_loss_breached"] is breached
    assert recs.loc["T0001", "level"] == "close-only"  # never loosened to reduce
    others = recs.loc[["T0002", "T0003", "T0004"], "level"]
    assert set(others) == ({"reduce"} if breached else {"normal"})
    if breached:
        assert all("firm_loss" in h for h in recs["rule_hits"])
        assert recs.loc["T0002", "reasons"][0].startswith("firm lost $12,100 on 2024-03-04")
        assert (recs.loc[others.index, "size_multiplier"] == 0.5).all()


def test_firm_capital_from_config(inputs: Inputs):
    inputs.history.loc[inputs.history["trade_date"] == D, "net_pnl"] = -1_000.0
    recs, summary = inputs.run(RecommendationConfig(firm_capital_usd=100_000.0))
    assert summary["firm_loss_breached"] and summary["firm_loss_limit_usd"] == 3_000.0
    assert set(recs["level"]) == {"reduce"}


def test_low_six_week_sharpe_flags_review(inputs: Inputs):
    h = inputs.history
    rng = np.random.default_rng(0)
    bad = (h.trader_id == "T0003") & (h.trade_date < D)
    h.loc[bad, "net_pnl"] = -50.0 + 400.0 * rng.standard_normal(bad.sum())
    recs, summary = inputs.run()
    assert recs.loc["T0003", "sharpe_6w"] < 0.5
    assert recs.loc["T0003", "review"] and recs.loc["T0003", "level"] == "warn"
    assert recs.loc["T0003", "rule_hits"] == ["sharpe_review"]
    assert recs.loc["T0003", "reasons"][0].startswith("6-week Sharpe ")
    assert not recs.loc["T0001", "review"] and summary["n_review"] == 1


def test_sharpe_needs_enough_traded_days(inputs: Inputs):
    h = inputs.history
    h.loc[(h.trader_id == "T0003"), "net_pnl"] = np.nan
    h.loc[(h.trader_id == "T0003") & (h.trade_date >= dt.date(2024, 2, 27)), "net_pnl"] = -100.0
    recs, _ = inputs.run()
    assert np.isnan(recs.loc["T0003", "sharpe_6w"]) and not recs.loc["T0003", "review"]


@pytest.mark.parametrize("streak,level", [(4.0, "reduce"), (3.0, "normal")])
def test_loss_streak_reduces(inputs: Inputs, streak, level):
    inputs.set_feature("T0001", "loss_streak", streak)
    recs, _ = inputs.run()
    assert recs.loc["T0001", "level"] == level
    if level == "reduce":
        assert recs.loc["T0001", "reasons"][0] == "4 losing days in a row, at or past the limit of 4"
        assert recs.loc["T0001", "daily_loss_limit_usd"] == 1000.0  # 2,000 x 0.5


def test_stale_model_falls_back_to_rules_baseline(inputs: Inputs):
    inputs.model_info = {"family": "trader_lgbm", "version": "v1", "trained_on": "2024-01-05"}
    inputs.set_feature("T0002", "large_losses_5d", 3.0)
    inputs.set_prediction("T0002", p_large_loss=0.01)  # the stale model is ignored
    recs, summary = inputs.run()
    assert set(recs["score_source"]) == {"rules_baseline"}
    assert recs.loc["T0002", "p_large_loss"] == pytest.approx(0.10 + 3 * 0.08)
    assert recs.loc["T0002", "risk_score"] == 34.0
    assert recs.loc["T0002", "level"] == "reduce"  # 0.34 is in the reduce band
    assert recs.loc["T0002", "reasons"][0] == "model is 60 days old, past the 35-day limit: scored by the rules baseline"
    assert "3 large losses in the last 5 sessions" in recs.loc["T0002", "reasons"]
    assert np.isnan(recs.loc["T0001", "pred_pnl"])
    assert summary["n_rules_baseline"] == 4
    fresh, _ = inputs.run(RecommendationConfig(max_model_age_days=90))
    assert set(fresh["score_source"]) == {"model"}


def test_stale_data_falls_back_and_warns(inputs: Inputs):
    f = inputs.features
    f.loc[f.trader_id == "T0004", "trade_date"] = dt.date(2024, 2, 28)  # Feb 29, Mar 1, Mar 4 missing
    inputs.predictions.loc[inputs.predictions.trader_id == "T0004", "trade_date"] = dt.date(2024, 2, 28)
    recs, _ = inputs.run()
    assert recs.loc["T0004", "data_lag_sessions"] == 3
    assert recs.loc["T0004", "score_source"] == "rules_baseline"
    assert recs.loc["T0004", "level"] == "warn"
    assert recs.loc["T0004", "reasons"][0] == (
        "latest data is from 2024-02-28, 3 sessions missing, more than the 0 allowed: scored by the rules baseline")
    assert recs.loc["T0001", "data_lag_sessions"] == 0 and recs.loc["T0001", "level"] == "normal"


def test_rules_only_make_levels_stricter(inputs: Inputs):
    rng = np.random.default_rng(11)
    for _ in range(6):
        for t in TRADERS:
            inputs.set_prediction(t, p_large_loss=float(rng.uniform(0, 0.7)))
            inputs.set_feature(t, "loss_streak", float(rng.integers(0, 7)))
            inputs.set_feature(t, "net_pnl_d0", float(rng.uniform(-7_000, 1_000)))
        recs, _ = inputs.run(RecommendationConfig(p_halt=0.65))
        model_rank = recs["model_level"].map(RANK)
        rank = recs["level"].map(RANK)
        assert (rank >= model_rank).all()
        assert (rank[recs["loss_streak"] >= 4] >= RANK["reduce"]).all()
        assert (recs.loc[recs["last_day_pnl"] < -5_000, "level"] == "halt").all()
        no_rule = recs["rule_hits"].map(len) == 0
        assert (recs.loc[no_rule, "level"] == recs.loc[no_rule, "model_level"]).all()


@pytest.mark.parametrize("var,p,limit", [
    (-1_000.0, 0.05, 2_000.0),   # 2 x |VaR|
    (-5_000.0, 0.05, 3_000.0),   # capped at 3% of capital
    (-100.0, 0.05, 500.0),       # floored at 0.5% of capital
    (np.nan, 0.05, 3_000.0),     # unknown VaR -> the cap
    (-1_000.0, 0.35, 1_000.0),   # reduce halves the limit
])
def test_daily_loss_limit(inputs: Inputs, var, p, limit):
    inputs.set_prediction("T0001", var_05=var, p_large_loss=p)
    recs, _ = inputs.run()
    assert recs.loc["T0001", "daily_loss_limit_usd"] == pytest.approx(limit)


def test_levels_and_position_caps_follow_the_ladder(inputs: Inputs):
    for t, p in zip(TRADERS, (0.05, 0.25, 0.35, 0.5)):
        inputs.set_prediction(t, p_large_loss=p)
    recs, summary = inputs.run()
    assert list(recs["level"]) == ["normal", "warn", "reduce", "close-only"]
    assert list(recs["size_multiplier"]) == [1.0, 1.0, 0.5, 0.0]
    assert list(recs["max_position_notional_usd"]) == [200_000.0, 200_000.0, 100_000.0, 0.0]
    assert summary["counts"]["close-only"] == 1
    assert set(LEVELS) == set(summary["counts"])
    assert recs["for_date"].eq(TODAY).all()


def test_output_fits_the_published_schema_even_with_no_reasons(inputs: Inputs):
    from risk_dagster.recommendations import RECOMMENDATIONS

    recs, _ = inputs.run()
    assert recs["reason_features"].map(len).sum() == 0
    table = RECOMMENDATIONS.to_arrow(recs.reset_index(drop=True))
    assert str(table.schema.field("reason_features").type) == "list<item: string>"
    assert table.num_rows == 4 and table.column("level").to_pylist() == ["normal"] * 4
