"""Followed P&L, strategy figures and limits against hand computations on fixed rows."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from risk_dagster.replay.outcomes import (followed_pnl, limit_figures, max_drawdown,
                                          outcome_table, per_trader_figures, summarize)

D1, D2, D3 = dt.date(2024, 3, 4), dt.date(2024, 3, 5), dt.date(2024, 3, 6)


def _recs():
    # for_date, trader, level, size multiplier, loss limit (USD), VaR (USD)
    rows = [(D1, "T0001", "normal", 1.0, 1000.0, -600.0),
            (D1, "T0002", "reduce", 0.5, 500.0, -300.0),
            (D2, "T0001", "close-only", 0.0, 500.0, -600.0),
            (D2, "T0002", "warn", 1.0, 400.0, -300.0),
            (D3, "T0001", "halt", 0.0, 0.0, -600.0),
            (D3, "T0002", "reduce", 0.5, 300.0, -300.0)]
    frame = pd.DataFrame(rows, columns=["for_date", "trader_id", "level", "size_multiplier",
                                        "daily_loss_limit_usd", "var_05"])
    return frame.assign(model_family="trader_lgbm", model_version="v1", score_source="model")


def _pnl():
    return pd.DataFrame([(D1, "T0001", -1500.0), (D1, "T0002", -800.0),
                         (D2, "T0001", 700.0), (D2, "T0002", 250.0),
                         (D3, "T0001", -2000.0)],  # T0002 did not trade on D3
                        columns=["trade_date", "trader_id", "net_pnl"])


def test_followed_pnl_by_hand():
    got = followed_pnl([-1500, -800, 700, 250, -2000, np.nan], [1, .5, 0, 1, 0, .5],
                       [1000, 500, 500, 400, 0, 300],
                       ["normal", "reduce", "close-only", "warn", "halt", "reduce"])
    # -1500 capped at the 1000 limit; 0.5 x -800 = -400 (inside 500); close-only/halt: 0;
    # 250 at full size; not traded: 0
    np.testing.assert_allclose(got, [-1000, -400, 0, 250, 0, 0])
    # without limits: only the size
    np.testing.assert_allclose(followed_pnl([-1500, -800], [1, .5]), [-1500, -400])


def test_outcome_table_and_the_strategy_figures_by_hand():
    rules = _recs()[["for_date", "trader_id"]].assign(
        level="normal", size_multiplier=1.0, daily_loss_limit_usd=[1200.0, 600.0] * 3)
    table = outcome_table(_recs(), _pnl(), rules)
    assert table["engine_pnl"].tolist() == [-1000.0, -400.0, 0.0, 250.0, 0.0, 0.0]
    assert table["rules_pnl"].tolist() == [-1200.0, -600.0, 700.0, 250.0, -1200.0, 0.0]
    assert table["actual_pnl"].tolist() == [-1500.0, -800.0, 700.0, 250.0, -2000.0, 0.0]
    assert table["traded"].tolist() == [True, True, True, True, True, False]
    # past the limit: -1500 < -1000, -800 < -500, -2000 < -0 (halted with a 0 limit)
    assert table["limit_breached"].tolist() == [True, True, False, False, True, False]
    assert table["var_violated"].tolist() == [True, True, False, False, True, False]

    engine = summarize(table, "engine_pnl", "engine", "level", "size_multiplier")
    assert engine.total_pnl == -1150.0
    # losing trader-days: (-1000 - -1500) + (-400 - -800) + (0 - -2000) = 2900 avoided
    assert engine.avoided_losses == 2900.0
    assert engine.missed_gains == 700.0  # T0001's 700 on D2 (close-only)
    assert engine.trader_days_halted == 2 and engine.trader_days_reduced == 2
    # firm by day: -1400, +250, 0 -> equity -1400, -1150, -1150: drawdown 1400 from 0
    assert engine.max_drawdown == 1400.0 and engine.worst_day == -1400.0
    nothing = summarize(table, "nothing_pnl", "nothing")
    assert nothing.total_pnl == -3350.0 and nothing.avoided_losses == 0.0
    # -2300, +950, -2000 -> equity -2300, -1350, -3350: drawdown 3350
    assert nothing.max_drawdown == 3350.0
    limits = limit_figures(table)
    assert limits["trader_days"] == 5 and limits["limit_breaches"] == 3
    assert limits["var_violations"] == 3 and limits["var_violation_rate"] == pytest.approx(0.6)
    per = per_trader_figures(table).set_index("trader_id")
    assert per.loc["T0001", "engine_pnl"] == -1000.0 and per.loc["T0002", "traded"] == 2
    assert per.loc["T0001", "days_no_new_risk"] == 2


def test_max_drawdown_from_the_running_peak():
    assert max_drawdown(pd.Series([100.0, 300.0, 50.0, 400.0, 350.0])) == 250.0
    assert max_drawdown(pd.Series([100.0, 200.0])) == 0.0


def test_no_negative_zero_in_the_followed_pnl_or_the_figures():
    got = followed_pnl([-900.0, -50.0], [0.0, 1.0], [0.0, 1000.0], ["halt", "normal"])
    assert np.signbit(got).tolist() == [False, True]  # halt: +0.0, not -0.0
    table = outcome_table(_recs(), _pnl())
    nothing = summarize(table, "nothing_pnl", "nothing")
    assert not np.signbit(nothing.missed_gains)
