"""Capital per account: configured table, else the totals' End Balance, else the flat default
(said in the row's capital_source)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from risk_dagster.core.lake import Lake
from risk_dagster.core.schemas import TOTALS
from risk_dagster.core.tables import read_end_balances
from risk_dagster.recommendations import RecommendationConfig
from risk_dagster.recommendations.recommend import recommend

from .conftest import TODAY, Inputs


def _run(inputs: Inputs, cfg: RecommendationConfig, balances=None):
    recs, summary = recommend(inputs.scores(cfg), inputs.features, inputs.history, cfg,
                              today=TODAY, balances=balances)
    return recs.set_index("trader_id", drop=False), summary


def test_without_balances_every_row_says_default(inputs: Inputs):
    recs, _ = _run(inputs, RecommendationConfig())
    assert (recs["capital_source"] == "default").all() and (recs["capital_usd"] == 100_000).all()


def test_end_balance_sets_capital_kill_switch_and_limits(inputs: Inputs):
    inputs.set_feature("T0001", "net_pnl_d0", -2_500.0)  # 6.25% of 40k; 2.5% of the default
    balances = pd.Series({"T0001": 40_000.0, "T0002": 0.0, "T0003": float("nan"),
                          "T0004": 55_000.0})
    cfg = RecommendationConfig(capital_by_trader={"T0004": 20_000.0})
    recs, _ = _run(inputs, cfg, balances)
    assert recs["capital_source"].to_dict() == {"T0001": "end_balance", "T0002": "default",
                                                "T0003": "default", "T0004": "configured"}
    assert recs["capital_usd"].to_dict() == {"T0001": 40_000.0, "T0002": 100_000.0,
                                             "T0003": 100_000.0, "T0004": 20_000.0}
    assert recs.loc["T0001", "level"] == "halt" and "kill_switch" in recs.loc["T0001", "rule_hits"]
    assert recs.loc["T0002", "max_position_notional_usd"] == 200_000.0
    # the default would not have halted T0001
    assert _run(inputs, RecommendationConfig())[0].loc["T0001", "level"] != "halt"


def test_latest_stored_balance_on_or_before_the_day(tmp_path):
    lake = Lake(tmp_path)
    for day, balance in [(dt.date(2024, 1, 3), 30_000.0), (dt.date(2024, 1, 4), None),
                         (dt.date(2024, 1, 5), 31_000.0)]:
        row = pd.DataFrame([{"trade_date": day, "trader_id": "A", "orders": 1, "fills": 2,
                             "qty": 2.0, "gross_pnl": 0.0, "fees": 0.0, "net_pnl": 0.0,
                             "unrealized_delta": 0.0, "total_delta": 0.0, "derived": False,
                             "source": "propreports", "end_balance": balance}])
        lake.write("raw_totals", "date", day.isoformat(), TOTALS.to_arrow(row))
    assert read_end_balances(lake, dt.date(2024, 1, 4)).to_dict() == {"A": 30_000.0}
    assert read_end_balances(lake, dt.date(2024, 1, 5)).to_dict() == {"A": 31_000.0}
    assert read_end_balances(Lake(tmp_path / "empty"), dt.date(2024, 1, 5)).empty
