"""The evaluation as the desk reads it: rounded headline figures with units, a champion table."""

from __future__ import annotations

import pandas as pd

from risk_dagster.evaluation.summary import CHAMPION_COLUMNS, champion_table, headline, key_figures

NUMBERS = {"champion_auc": 0.7393643876181697, "champion_brier": 0.0812345678,
           "champion_oracle_capture": 0.6123456, "champion_net_benefit_usd": 1063881.6266500012,
           "rules_auc": 0.61234, "rules_net_benefit_usd": -1234.5, "champion_oracle_auc": None}


def test_headline_figures_are_rounded_and_named_for_the_plots():
    assert headline(NUMBERS) == {"champion_auc": 0.739, "champion_brier": 0.0812,
                                 "oracle_capture": 0.612, "counterfactual_benefit_usd": 1063882,
                                 "rules_auc": 0.612, "rules_benefit_usd": -1234}
    assert headline({"champion_auc": float("nan")}) == {}


def test_key_figures_have_units_and_no_long_floats():
    figures = key_figures({**NUMBERS, "champions_trader_lgbm": 12, "pooled_lgbm_n": 17543})
    rows = {r["figure"]: (r["value"], r["unit"]) for r in figures.to_dict("records")}
    assert rows["champion auc"] == ("0.739", "AUC")
    assert rows["champion net benefit usd"] == ("1,063,882", "USD")
    assert rows["champion oracle capture"] == ("0.612", "share of the true signal")
    assert rows["champion oracle auc"] == ("not available", "AUC")
    assert rows["champions trader lgbm"] == ("12", "traders")
    assert rows["pooled lgbm n"] == ("17,543", "rows")


def test_champion_table_one_row_per_trader_with_its_figures():
    champions = {
        "T0002": {"chosen": "rules", "reason": "no candidate passed, no pooled_lgbm; fallback rules",
                  "candidates": [{"model": "rules", "auc": 0.55, "brier": 0.09, "net_benefit": -10.4,
                                  "n": 120, "passed": False},
                                 {"model": "logistic", "auc": 0.5, "brier": 0.1, "net_benefit": 0,
                                  "n": 120, "passed": False}]},
        "T0001": {"chosen": "trader_lgbm", "reason": "highest score 0.1234 among 2 passing",
                  "candidates": [{"model": "trader_lgbm", "auc": 0.71234, "brier": 0.08123,
                                  "net_benefit": 5120.6, "n": 240, "passed": True},
                                 {"model": "rules", "auc": 0.6, "brier": 0.09, "net_benefit": 10.0,
                                  "n": 240, "passed": True}]},
        "T0003": {"chosen": None, "candidates": [],
                  "reason": "no out-of-sample rows for this trader: fallback none"},
    }
    table = champion_table(champions)
    assert list(table.columns) == [c.name for c in CHAMPION_COLUMNS]
    assert table.to_dict("records")[0] == {
        "trader": "T0001", "champion": "trader_lgbm", "AUC": 0.712, "Brier": 0.0812,
        "benefit USD": 5121, "rows": 240, "candidates passed": "2 of 2",
        "why": "highest score 0.1234 among 2 passing"}
    assert table.loc[1, "candidates passed"] == "0 of 2" and table.loc[1, "benefit USD"] == -10
    assert table.loc[2, "champion"] == "built-in rules baseline"
    assert table.loc[2, "candidates passed"] == "none evaluated"


def test_var_figures_read_as_percent_and_three_digit_p():
    from risk_dagster.evaluation.summary import var_figures

    raw = {"var_violation_rate": 0.069512345, "kupiec_p": 2.5123e-20, "var_n": 17543}
    cal = {"var_violation_rate": 0.0521987, "kupiec_p": 0.2734567, "var_n": 15012}
    assert var_figures(raw, cal) == {
        "var_violations_raw_pct": 6.95, "var_kupiec_p_raw": 2.51e-20,
        "var_violations_calibrated_pct": 5.22, "var_kupiec_p_calibrated": 0.273,
        "var_calibrated_rows": 15012}


def test_var_per_trader_rounds_rates_and_p():
    from risk_dagster.evaluation.summary import var_per_trader

    per = pd.DataFrame({"trader_id": ["T0001", "T0002"], "var_n_raw": [300, 250],
                        "var_violation_rate_raw": [0.0733333, 0.04],
                        "var_n_calibrated": [280, 230],
                        "var_violation_rate_calibrated": [0.0535714, None],
                        "kupiec_p": [0.79812, None]})  # object columns: a trader with no row
    out = var_per_trader(per)
    assert list(out.columns) == ["trader_id", "var_n_raw", "var_n_calibrated", "kupiec_p",
                                 "violations_pct_raw", "violations_pct_calibrated"]
    assert out["violations_pct_raw"].tolist() == [7.33, 4.0]
    assert out["violations_pct_calibrated"].iloc[0] == 5.36
    assert pd.isna(out["violations_pct_calibrated"].iloc[1])
    assert out["kupiec_p"].iloc[0] == 0.798 and pd.isna(out["kupiec_p"].iloc[1])


def test_var_per_trader_keeps_a_trader_without_calibration_rows():
    """A trader with no calibration rows has None rates (object dtype): NaN, not a TypeError
    (an 8-trader replay's first training failed on it)."""
    from risk_dagster.evaluation.summary import var_per_trader

    per = pd.DataFrame({"trader_id": ["T0001", "T0002"],
                        "var_violation_rate_raw": [0.0733333, None],
                        "var_violation_rate_calibrated": [None, None],
                        "kupiec_p": [0.5, None]})
    out = var_per_trader(per)
    assert out["violations_pct_raw"].iloc[0] == 7.33 and pd.isna(out["violations_pct_raw"].iloc[1])
    assert out["violations_pct_calibrated"].isna().all()
