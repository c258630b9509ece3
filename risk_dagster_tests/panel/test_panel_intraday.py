"""intraday_behaviour: round trips, P&L path and after-loss behaviour on hand-made fills, and
independence from row order and from other traders."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from risk_dagster.panel import INTRADAY_COLUMNS, intraday_behaviour
from risk_dagster_tests.factories import fills_from_rows

DAY = dt.date(2024, 1, 2)  # XNYS 14:30-21:00 UTC
SESSION_S = 390 * 60

# Long 200 at average 11, partial exit at 10 (-150), exit 50 at 13 (+100) and flip short 50 at 13,
# cover at 12 (+50). Fees 1 per fill. Trip 1 (long) net -50 - 3.5 fees = -53.5, trip 2 +48.5.
FLIP_DAY = [
    {"t": "14:31:00", "side": "B", "qty": 100, "price": 10, "fees": 1},
    {"t": "14:40:00", "side": "B", "qty": 100, "price": 12, "fees": 1},
    {"t": "15:00:00", "side": "S", "qty": 150, "price": 10, "fees": 1},
    {"t": "15:30:00", "side": "S", "qty": 100, "price": 13, "fees": 1},
    {"t": "16:00:00", "side": "B", "qty": 50, "price": 12, "fees": 1},
]


def test_round_trips_with_a_flip_have_exact_values():
    row = intraday_behaviour(fills_from_rows(FLIP_DAY, trade_date=DAY), calendar="XNYS").iloc[0]
    assert row["n_round_trips"] == 2 and row["rt_win_rate"] == 0.5
    assert row["rt_realized_pnl"] == pytest.approx(0.0)  # -150 + 100 + 50
    # net realized path: -1, -2, -153, -54, -5 -> drawdown 153 from the 0 start, low at 15:00
    assert row["intraday_max_drawdown"] == pytest.approx(153.0)
    assert row["time_of_low_frac"] == pytest.approx(30 * 60 / SESSION_S)
    # the short opened by the flip starts right after the losing long closed
    assert row["trades_after_loss"] == 1
    assert row["size_after_loss_ratio"] == pytest.approx(650 / 2200)
    assert row["reentry_time_after_loss_s"] == 0.0
    assert row["hold_time_losers_s"] == pytest.approx(59 * 60)
    assert row["hold_time_winners_s"] == pytest.approx(30 * 60)
    assert row["max_position_notional"] == pytest.approx(200 * 12)
    minutes = np.array([1, 10, 30, 60, 90]) * 60 / SESSION_S
    sizes = np.array([1000, 1200, 1500, 1300, 600])
    expected = np.polyfit(minutes, sizes, 1)[0] / sizes.mean()
    assert row["size_escalation"] == pytest.approx(expected)


def test_open_trip_at_the_close_is_not_counted_and_symbols_add_up():
    fills = fills_from_rows([
        {"t": "14:31:00", "side": "B", "qty": 100, "price": 10, "symbol": "AAA"},
        {"t": "14:32:00", "side": "S", "qty": 10, "price": 50, "symbol": "BBB"},  # short 500
        {"t": "14:33:00", "side": "S", "qty": 100, "price": 11, "symbol": "AAA"},  # +100
        {"t": "14:34:00", "side": "B", "qty": 100, "price": 9, "symbol": "AAA"},   # left open
    ], trade_date=DAY)
    row = intraday_behaviour(fills, calendar="XNYS").iloc[0]
    assert row["n_round_trips"] == 1 and row["rt_win_rate"] == 1.0
    assert row["rt_realized_pnl"] == pytest.approx(100.0)
    assert row["max_position_notional"] == pytest.approx(1000 + 500)
    assert np.isnan(row["hold_time_losers_s"]) and np.isnan(row["size_after_loss_ratio"])
    assert row["trades_after_loss"] == 0
    assert np.isnan(row["reentry_time_after_loss_s"])
    assert row["intraday_max_drawdown"] == 0.0
    assert np.isfinite(row["size_escalation"])  # 4 orders at distinct times


def test_reentry_time_is_measured_to_the_next_trip_in_any_symbol():
    fills = fills_from_rows([
        {"t": "15:00:00", "side": "B", "qty": 100, "price": 10, "symbol": "AAA"},
        {"t": "15:10:00", "side": "S", "qty": 100, "price": 9, "symbol": "AAA"},  # loss
        {"t": "15:12:30", "side": "B", "qty": 300, "price": 20, "symbol": "BBB"},  # 150 s later
        {"t": "15:20:00", "side": "S", "qty": 300, "price": 21, "symbol": "BBB"},
    ], trade_date=DAY)
    row = intraday_behaviour(fills, calendar="XNYS").iloc[0]
    assert row["reentry_time_after_loss_s"] == pytest.approx(150.0)
    assert row["trades_after_loss"] == 1
    assert row["size_after_loss_ratio"] == pytest.approx(6000 / 1000)


def test_fractional_quantities_return_to_flat():
    fills = fills_from_rows([
        {"t": "01:00:00", "side": "B", "qty": 0.1, "price": 100},
        {"t": "01:01:00", "side": "B", "qty": 0.2, "price": 100},
        {"t": "01:02:00", "side": "S", "qty": 0.3, "price": 110},
    ], trade_date=dt.date(2024, 1, 6), trader_id="0xabc")
    row = intraday_behaviour(fills, calendar="24/7").iloc[0]
    assert row["n_round_trips"] == 1
    assert row["rt_realized_pnl"] == pytest.approx(3.0)


def test_independent_of_row_order_other_traders_and_input_format(small_fills):
    full = intraday_behaviour(small_fills, calendar="XNYS")
    assert list(full.columns) == ["trade_date", "trader_id", *INTRADAY_COLUMNS]
    assert len(full) == 8 * 6
    shuffled = small_fills.sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(intraday_behaviour(shuffled, calendar="XNYS"), full)
    arrow = pa.Table.from_pandas(small_fills, preserve_index=False)
    pd.testing.assert_frame_equal(intraday_behaviour(arrow, calendar="XNYS"), full)
    one = small_fills[small_fills["trader_id"] == "T0004"]
    alone = intraday_behaviour(one, calendar="XNYS")
    pd.testing.assert_frame_equal(alone, full[full["trader_id"] == "T0004"].reset_index(drop=True))
    assert (full["intraday_max_drawdown"] >= 0).all()
    assert full["time_of_low_frac"].between(0, 1).all()
    assert (full["n_round_trips"] >= 0).all() and (full["n_round_trips"] > 0).mean() > 0.5
    assert full["rt_win_rate"].dropna().between(0, 1).all()
