"""Split-conformal calibration of the 5% VaR: hand-computed values, point in time, coverage."""


import math

import numpy as np
import pandas as pd
import pytest

from risk_dagster.evaluation.metrics import kupiec_pof
from risk_dagster.evaluation.var_calibration import (VarCalibrationConfig, conformal_scale,
                                                     scores, serving_scales, violation_report,
                                                     walk_forward_scales)


def test_kupiec_against_a_fixed_known_value():
    # x = 7 of n = 100 at 5%: LR = 2[93 ln(.93/.95) + 7 ln(.07/.05)] = 0.75302; chi-square(1)
    # survival = erfc(sqrt(LR / 2)) = 0.38552
    lr, p = kupiec_pof(7, 100, 0.05)
    assert lr == pytest.approx(2 * (93 * math.log(0.93 / 0.95) + 7 * math.log(0.07 / 0.05)))
    assert lr == pytest.approx(0.75302, abs=1e-5)
    assert p == pytest.approx(0.38552, abs=1e-5)


def test_scores_and_the_conformal_quantile_by_hand():
    # a loss of 300 against a VaR of -200 is 1.5 VaRs; a VaR forecast of +50 counts as 1 USD
    np.testing.assert_allclose(scores([-300.0, 100.0, -10.0], [-200.0, -100.0, 50.0]),
                               [1.5, -1.0, 10.0])
    s = np.arange(1.0, 20.0)  # 19 scores 1..19: k = ceil(20 x 0.95) = 19 -> the 19th smallest
    assert conformal_scale(s, 0.05) == 19.0
    assert conformal_scale(np.arange(1.0, 40.0), 0.05) == 38.0  # k = ceil(40 x .95) = 38
    assert conformal_scale(np.arange(1.0, 4.0), 0.05) == 3.0  # k past n: the largest
    assert math.isnan(conformal_scale([], 0.05))


def _rows(n_traders=6, n_days=400, tight=0.6, seed=3):
    """Normal P&L with sd 1000 per trader x its size, and a VaR forecast that is ``tight`` x the
    true 5% quantile (too tight, as the demo's models were)."""
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2024-01-02", periods=n_days)
    out = []
    for t in range(n_traders):
        size = 1.0 + t
        pnl = rng.normal(0, 1000 * size, n_days)
        out.append(pd.DataFrame({"trader_id": f"T{t:04d}", "trade_date": days[:-1],
                                 "label_date": days[1:], "next_net_pnl": pnl[1:],
                                 "var_05": -1.645 * 1000 * size * tight}))
    return pd.concat(out, ignore_index=True)


def test_walk_forward_calibration_brings_a_tight_var_to_its_level():
    rows = _rows()
    raw, _ = violation_report(rows, "var_05")
    assert raw["var_violation_rate"] > 0.15  # 0.6 x the quantile: P(z < -0.987) = 16%
    cal = rows.join(walk_forward_scales(rows, VarCalibrationConfig(min_trader_rows=100,
                                                                   window_rows=None)))
    used = cal[cal["var_scope"] != "none"]
    firm, per = violation_report(used, "var_05_calibrated")
    assert 0.04 <= firm["var_violation_rate"] <= 0.06 and firm["kupiec_p"] > 0.05
    assert len(per) == 6 and per["var_violation_rate"].between(0.02, 0.09).all()
    # the scale is about 1 / 0.6 once a trader has its own rows
    assert cal.loc[cal["var_scope"] == "trader", "var_scale"].median() == pytest.approx(1 / 0.6,
                                                                                         rel=0.1)


def test_a_rows_scale_uses_only_outcomes_known_at_its_trade_date():
    rows = _rows(n_traders=2, n_days=300)
    cfg = VarCalibrationConfig(min_trader_rows=50, window_rows=None, min_firm_rows=50)
    before = walk_forward_scales(rows, cfg)
    cut = pd.Timestamp("2024-06-28")
    changed = rows.copy()
    later = changed["label_date"] > cut
    changed.loc[later, "next_net_pnl"] *= 5  # the future is much worse
    after = walk_forward_scales(changed, cfg)
    known = pd.to_datetime(rows["trade_date"]) < cut
    pd.testing.assert_frame_equal(before[known], after[known])
    assert (after.loc[~known & (pd.to_datetime(rows["trade_date"]) > cut + pd.Timedelta(days=30)),
                      "var_scale"] > before["var_scale"].max()).all()
    # nothing known at the first date: no scale yet
    first = pd.to_datetime(rows["trade_date"]) == pd.to_datetime(rows["trade_date"]).min()
    assert (before.loc[first, "var_scope"] == "none").all()


def test_serving_scales_trader_first_then_firm():
    rows = _rows(n_traders=3, n_days=200)
    short = rows["trader_id"] == "T0002"
    rows = pd.concat([rows[~short], rows[short].tail(30)], ignore_index=True)
    got = serving_scales(rows, VarCalibrationConfig(min_trader_rows=100, window_rows=None,
                                                    min_firm_rows=100))
    assert got["T0000"]["scope"] == "trader" and got["T0000"]["n"] == 199
    assert got["T0002"]["scope"] == "firm" and got["T0002"]["n"] == 199 * 2 + 30
    own = rows[rows["trader_id"] == "T0000"]
    assert got["T0000"]["scale"] == conformal_scale(scores(own["next_net_pnl"], own["var_05"]))
    assert serving_scales(rows.head(10))["T0000"] == {"scale": 1.0, "n": 0, "scope": "none",
                                                      "level": 0.05}



def test_no_row_with_a_calibration_set_gives_empty_figures_not_an_error():
    rows = _rows(n_traders=2, n_days=15)
    cal = rows.join(walk_forward_scales(rows))
    assert (cal["var_scope"] == "none").all()  # 2 x 14 rows: under every minimum
    firm, per = violation_report(cal[cal["var_scope"] != "none"], "var_05_calibrated")
    assert firm["var_n"] == 0 and per.empty and "var_violation_rate" in per.columns


def test_the_default_window_follows_a_trader_whose_risk_grows():
    rows = _rows(n_traders=1, n_days=400, tight=1.0)
    later = pd.to_datetime(rows["trade_date"]) >= pd.Timestamp("2024-08-01")
    rows.loc[later, "next_net_pnl"] *= 2.0  # twice the risk from August, same forecast
    cal = rows.join(walk_forward_scales(rows))
    late = cal[pd.to_datetime(cal["trade_date"]) >= pd.Timestamp("2024-10-01")]
    assert late["var_scale"].median() == pytest.approx(2.0, rel=0.25)  # the last 40 rows
    assert violation_report(late, "var_05_calibrated")[0]["var_violation_rate"] < 0.10


def test_champions_are_calibrated_on_their_own_family_rows_only(tmp_path):
    from risk_dagster.evaluation.var_calibration import calibrate_champions, write_var_report

    champion_rows = _rows(n_traders=2).assign(model="trader_lgbm")
    # another family whose VaR is hopelessly loose: it must not enter the champions' figures
    other = champion_rows.assign(model="logistic", var_05=-1e9)
    champions = {"T0000": {"chosen": "trader_lgbm"}, "T0001": {"chosen": "trader_lgbm"}}
    numbers = calibrate_champions(pd.concat([champion_rows, other], ignore_index=True),
                                  champions, 0.05)
    # the tight champion VaR (16% in theory); mixed with the loose family it would read ~8%
    assert numbers["raw"]["var_violation_rate"] > 0.12
    assert numbers["raw"]["var_n"] == len(champion_rows)
    assert set(numbers["per_trader"]["trader_id"]) == {"T0000", "T0001"}
    for decision in champions.values():  # each champion carries its serving scale
        assert decision["var_calibration"]["scope"] == "trader"
        # from its last 40 rows: noisy around 1 / 0.6, but a widening
        assert 1.2 < decision["var_calibration"]["scale"] < 2.5
    path = write_var_report(numbers, tmp_path / "run")
    assert path.name == "var_calibration.json" and not list(tmp_path.glob("run/*.tmp"))
    import json
    stored = json.loads(path.read_text())
    assert stored["raw"]["var_n"] == len(champion_rows) and len(stored["per_trader"]) == 2


def test_tracked_multiplier_by_hand():
    from risk_dagster.evaluation.var_calibration import tracked_multipliers

    d1, d2, d3 = pd.Timestamp("2024-03-04"), pd.Timestamp("2024-03-05"), pd.Timestamp("2024-03-06")
    rows = pd.DataFrame({"trader_id": ["T0", "T1", "T0", "T1"], "trade_date": [d1, d1, d2, d2],
                         "label_date": [d2, d2, d3, d3],
                         "next_net_pnl": [-150.0, -50.0, -150.0, -200.0],
                         "var_05_calibrated": [-100.0] * 4})
    cfg = VarCalibrationConfig(tracking_rate=0.5, multiplier_bounds=(0.1, 10.0))
    m, state = tracked_multipliers(rows, cfg)
    # d1: nothing labelled yet -> 1. At d2's close: 1 violation of 2 -> log m = 0.5 x (1 - 0.1)
    # = 0.45, in force for d2's rows; then -150 > -156.8 (no violation), -200 < -156.8 (one)
    np.testing.assert_allclose(m.to_numpy(), [1.0, 1.0, math.exp(0.45), math.exp(0.45)])
    assert state.log_value == pytest.approx(0.9) and state.as_of == d3.date()
    assert state.to_dict() == {"multiplier": pytest.approx(math.exp(0.9)),
                               "multiplier_as_of": "2024-03-06"}
    # the bounds (0.5, 3) hold: at a huge rate d2's one violation takes m to 3, then d3's
    # none (-150 and -200 are within 3 x -100) to 0.5
    capped, last = tracked_multipliers(rows, VarCalibrationConfig(tracking_rate=50.0))
    np.testing.assert_allclose(capped.to_numpy(), [1.0, 1.0, 3.0, 3.0])
    assert last.value == pytest.approx(0.5)


def test_advance_multiplier_counts_only_outcomes_after_its_as_of_date_by_hand():
    import datetime as dt

    from risk_dagster.evaluation.var_calibration import Multiplier, advance_multiplier

    start = Multiplier(0.45, dt.date(2024, 3, 5))
    outcomes = pd.DataFrame({"label_date": pd.to_datetime(
        ["2024-03-05", "2024-03-06", "2024-03-06", "2024-03-07"]),
        "violated": [True, True, False, False]})
    cfg = VarCalibrationConfig(tracking_rate=0.5, multiplier_bounds=(0.1, 10.0))
    state, counted = advance_multiplier(start, outcomes, cfg)
    # 03-05 was counted already; 03-06: 1 of 2 -> +0.5 x 0.9; 03-07: 0 of 1 -> -0.5 x 0.05
    assert counted == 3 and state.as_of == dt.date(2024, 3, 7)
    assert state.log_value == pytest.approx(0.45 + 0.45 - 0.025)
    assert advance_multiplier(start, outcomes.iloc[:1], cfg) == (start, 0)
    assert Multiplier.from_dict(state.to_dict()).log_value == pytest.approx(state.log_value)
    assert Multiplier.from_dict(None) == Multiplier(0.0, None)


def test_a_rows_multiplier_uses_only_outcomes_known_at_its_trade_date():
    from risk_dagster.evaluation.var_calibration import tracked_multipliers

    rows = _rows(n_traders=3, n_days=300, tight=1.0).assign(var_05_calibrated=lambda f: f["var_05"])
    before, _ = tracked_multipliers(rows)
    cut = pd.Timestamp("2024-06-28")
    changed = rows.copy()
    changed.loc[changed["label_date"] > cut, "next_net_pnl"] *= 3
    after, _ = tracked_multipliers(changed)
    known = pd.to_datetime(rows["trade_date"]) < cut
    pd.testing.assert_series_equal(before[known], after[known])
    assert after[~known].mean() > before[~known].mean() * 1.3  # the worse future widens it


def test_tracking_holds_the_level_when_the_firms_risk_grows_and_the_window_alone_lags():
    from risk_dagster.evaluation.var_calibration import tracked_multipliers

    # every trader's risk doubles in August with the same forecast: the 40-row conformal scale
    # lags for weeks (two months of rows), the tracked multiplier closes most of the gap
    rows = _rows(n_traders=10, n_days=400, tight=1.0, seed=11)
    change = pd.Timestamp("2024-08-01")
    rows.loc[pd.to_datetime(rows["trade_date"]) >= change, "next_net_pnl"] *= 2.0

    def rates(tracking_rate):
        cfg = VarCalibrationConfig(tracking_rate=tracking_rate)
        used = rows.join(walk_forward_scales(rows, cfg)).query("var_scope != 'none'").copy()
        used["var_05_calibrated"] *= tracked_multipliers(used, cfg)[0]
        since = pd.to_datetime(used["trade_date"]) - change
        month = used[(since >= pd.Timedelta(0)) & (since < pd.Timedelta(days=30))]
        quarter = used[(since >= pd.Timedelta(0)) & (since < pd.Timedelta(days=90))]
        return [violation_report(part, "var_05_calibrated")[0] for part in (used, month, quarter)]

    untracked, tracked = rates(0.0), rates(VarCalibrationConfig().tracking_rate)
    assert untracked[1]["var_violation_rate"] > 0.11 and tracked[1]["var_violation_rate"] < 0.095
    assert untracked[2]["var_violation_rate"] > 0.07 and tracked[2]["var_violation_rate"] < 0.06
    assert 0.04 <= tracked[0]["var_violation_rate"] <= 0.06 and tracked[0]["kupiec_p"] > 0.05
