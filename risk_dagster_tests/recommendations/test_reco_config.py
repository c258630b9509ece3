"""RecommendationConfig: documented defaults, overrides, validation, round trip."""

from __future__ import annotations

import dataclasses

import pytest

from risk_dagster.recommendations import LEVELS, BaselineWeights, RecommendationConfig


def test_every_threshold_is_documented_in_the_docstring():
    doc = RecommendationConfig.__doc__
    undocumented = [f.name for f in dataclasses.fields(RecommendationConfig)
                    if f.name != "baseline" and f.name not in doc]
    assert undocumented == []


def test_defaults_are_the_documented_firm_policy():
    cfg = RecommendationConfig()
    assert cfg.default_capital_usd == 100_000
    assert cfg.kill_switch_share == 0.05 and cfg.kill_switch_usd is None
    assert cfg.firm_loss_share == 0.03
    assert cfg.sharpe_min == 0.5 and cfg.sharpe_window_sessions == 30
    assert dict(cfg.size_multiplier) == {"normal": 1.0, "warn": 1.0, "reduce": 0.5,
                                         "close-only": 0.0, "halt": 0.0}
    assert cfg.capital_for("T0001") == 100_000
    assert cfg.firm_capital(["A", "B", "C"]) == 300_000


def test_overrides_per_trader_and_firm():
    cfg = RecommendationConfig(capital_by_trader={"T0002": 250_000}, firm_capital_usd=5e6,
                               kill_switch_usd=3_000)
    assert cfg.capital_for("T0002") == 250_000
    assert cfg.capital_for("T0001") == 100_000
    assert cfg.firm_capital(["T0001"]) == 5e6
    assert dataclasses.replace(cfg, p_warn=0.1).p_warn == 0.1


def test_config_is_frozen_and_its_tables_read_only():
    cfg = RecommendationConfig(capital_by_trader={"T0002": 250_000})
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.kill_switch_share = 0.5
    with pytest.raises(TypeError):
        cfg.capital_by_trader["T0003"] = 1.0
    with pytest.raises(TypeError):
        cfg.size_multiplier["halt"] = 1.0


@pytest.mark.parametrize("bad", [
    {"p_warn": 0.5, "p_reduce": 0.3},
    {"size_multiplier": {"normal": 1.0}},
    {"size_multiplier": {lvl: 2.0 for lvl in LEVELS}},
    {"default_capital_usd": -1.0},
    {"stale_data_level": "paused"},
    {"loss_limit_floor_share": 0.1, "loss_limit_cap_share": 0.05},
])
def test_invalid_config_is_rejected(bad):
    with pytest.raises(ValueError):
        RecommendationConfig(**bad)


def test_probability_bands():
    cfg = RecommendationConfig()
    got = [cfg.level_for_probability(p) for p in (0.0, 0.19, 0.2, 0.3, 0.45, 0.99, float("nan"))]
    assert got == ["normal", "normal", "warn", "reduce", "close-only", "close-only", "normal"]
    assert RecommendationConfig(p_halt=0.8).level_for_probability(0.85) == "halt"


def test_dict_round_trip():
    cfg = RecommendationConfig(capital_by_trader={"T0002": 250_000}, kill_switch_usd=3_000,
                               baseline=BaselineWeights(base_p=0.12))
    again = RecommendationConfig.from_dict(cfg.to_dict())
    assert again.to_dict() == cfg.to_dict()
    assert again.baseline.base_p == 0.12
    with pytest.raises(TypeError):
        RecommendationConfig.from_dict({"no_such_threshold": 1})
