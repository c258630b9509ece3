"""Pinned panel rows of a small simulated firm, so that speed work on the panel cannot move a
value unnoticed.

``data/simulated_fills.parquet`` and ``data/simulated_totals.parquet`` are the simulator's
output for 4 traders over 2025-03-03..05 (``SimulationConfig(n_traders=4, seed=7)``: orders
with several fills, partial closes, flips and same-instant fills), stored as files so a change
in the simulator does not move these numbers. The expected values were computed by the panel
code before the scale work of session 5 (commit 2ea666c). They are compared to a relative
1e-12: DuckDB's parallel float sums can differ in the last bits from run to run.
"""

from __future__ import annotations

import datetime
import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from risk_dagster.panel import PANEL_COLUMN_NAMES, build_trader_day_panel
from risk_dagster_tests.panel.conftest import write_fills, write_totals

DATA = Path(__file__).parent / "data"
DAYS = [datetime.date(2025, 3, 3), datetime.date(2025, 3, 4), datetime.date(2025, 3, 5)]
NAN = math.nan

EXPECTED = {
    (datetime.date(2025, 3, 3), 'T0002'): {
        'traded': True,
        'pnl_source': 'totals',
        'gross_pnl': 348.18099999999544,
        'fees': 106.05499999999999,
        'net_pnl': 242.12599999999543,
        'unrealized_delta': 0.0,
        'total_pnl': 242.12599999999543,
        'n_orders': 26.0,
        'n_fills': 51.0,
        'qty': 26580.0,
        'notional': 543300.187,
        'n_symbols': 4.0,
        'n_routes': 5.0,
        'add_liq_rate': 0.6078431372549019,
        'remove_liq_rate': 0.39215686274509803,
        'first_hour_fill_rate': 0.27450980392156865,
        'last_hour_fill_rate': 0.0,
        'buy_rate': 0.49019607843137253,
        'fills_per_order': 1.9615384615384615,
        'avg_order_duration_s': 0.32012011538461543,
        'price_impact_bps': 0.9250534743582718,
        'cost_per_share': 0.003990030097817909,
        'eff_spread_bps': 19.890225416926608,
        'fee_rate_bps': 1.9520516012632994,
        'n_round_trips': 13.0,
        'rt_win_rate': 0.5384615384615384,
        'intraday_max_drawdown': 119.76210000000054,
        'time_of_low_frac': 0.16160900252136753,
        'trades_after_loss': 6.0,
        'size_after_loss_ratio': 0.7640033086914871,
        'reentry_time_after_loss_s': 572.140414,
        'hold_time_losers_s': 98.81815216666666,
        'hold_time_winners_s': 60.68984714285715,
        'size_escalation': 1.4615957018073396,
        'avg_order_notional': 20896.16103846154,
        'max_position_notional': 36155.86,
        'first_fill_frac': 0.03419021008547009,
        'last_fill_frac': 0.3500560264957265,
        'traded_symbols_abs_return': 0.010100992576286346,
        'traded_symbols_range': 0.014119662765223208,
    },
    (datetime.date(2025, 3, 4), 'T0001'): {
        'traded': True,
        'pnl_source': 'totals',
        'gross_pnl': -478.7279999999985,
        'fees': 45.588899999999995,
        'net_pnl': -524.3168999999984,
        'unrealized_delta': 230.7704559781314,
        'total_pnl': -293.54644402186705,
        'n_orders': 7.0,
        'n_fills': 23.0,
        'qty': 5780.0,
        'notional': 1078639.988,
        'n_symbols': 2.0,
        'n_routes': 4.0,
        'add_liq_rate': 0.391304347826087,
        'remove_liq_rate': 0.6086956521739131,
        'first_hour_fill_rate': 0.43478260869565216,
        'last_hour_fill_rate': 0.13043478260869565,
        'buy_rate': 0.6956521739130435,
        'fills_per_order': 3.2857142857142856,
        'avg_order_duration_s': 0.6622571428571428,
        'price_impact_bps': 1.27536063377041,
        'cost_per_share': 0.00788735294117647,
        'eff_spread_bps': 0.7236649257229176,
        'fee_rate_bps': 0.4226516771785027,
        'n_round_trips': 2.0,
        'rt_win_rate': 0.5,
        'intraday_max_drawdown': 3272.08365999998,
        'time_of_low_frac': 0.9862071497008547,
        'trades_after_loss': 1.0,
        'size_after_loss_ratio': 0.693431025481668,
        'reentry_time_after_loss_s': 9497.548566,
        'hold_time_losers_s': 1650.583664,
        'hold_time_winners_s': 6176.843943,
        'size_escalation': -0.3137534498470382,
        'avg_order_notional': 154091.42685714285,
        'max_position_notional': 333305.48,
        'first_fill_frac': 0.0012369554273504273,
        'last_fill_frac': 0.9862071497008547,
        'traded_symbols_abs_return': 0.014369663724600202,
        'traded_symbols_range': 0.01604402440303116,
    },
    (datetime.date(2025, 3, 5), 'T0003'): {
        'traded': True,
        'pnl_source': 'totals',
        'gross_pnl': 45.51500000000789,
        'fees': 170.94129999999998,
        'net_pnl': -125.4262999999921,
        'unrealized_delta': 0.0,
        'total_pnl': -125.4262999999921,
        'n_orders': 20.0,
        'n_fills': 53.0,
        'qty': 33960.0,
        'notional': 886556.8749999999,
        'n_symbols': 5.0,
        'n_routes': 5.0,
        'add_liq_rate': 0.4528301886792453,
        'remove_liq_rate': 0.5471698113207547,
        'first_hour_fill_rate': 0.1509433962264151,
        'last_hour_fill_rate': 0.03773584905660377,
        'buy_rate': 0.4528301886792453,
        'fills_per_order': 2.65,
        'avg_order_duration_s': 0.48150440000000005,
        'price_impact_bps': 1.1964782938416225,
        'cost_per_share': 0.005033607184923439,
        'eff_spread_bps': 0.8191895752545156,
        'fee_rate_bps': 1.9281481518035717,
        'n_round_trips': 10.0,
        'rt_win_rate': 0.4,
        'intraday_max_drawdown': 407.0364000000101,
        'time_of_low_frac': 0.7911937132905983,
        'trades_after_loss': 5.0,
        'size_after_loss_ratio': 0.8280903242010845,
        'reentry_time_after_loss_s': 868.5829022,
        'hold_time_losers_s': 986.8417178333333,
        'hold_time_winners_s': 566.63614525,
        'size_escalation': -0.17257903542900765,
        'avg_order_notional': 44327.84374999999,
        'max_position_notional': 61889.26499999999,
        'first_fill_frac': 0.021863783888888887,
        'last_fill_frac': 0.8623327667094017,
        'traded_symbols_abs_return': 0.01124871274807422,
        'traded_symbols_range': 0.014282351232033254,
    },
}


@pytest.fixture
def simulated_panel(lake):
    write_fills(lake, pq.read_table(DATA / "simulated_fills.parquet").to_pandas())
    write_totals(lake, pq.read_table(DATA / "simulated_totals.parquet").to_pandas())
    return build_trader_day_panel(lake, DAYS, calendar="XNYS")


def test_the_simulated_firm_has_one_row_per_trader_and_session(simulated_panel):
    assert list(simulated_panel.columns) == PANEL_COLUMN_NAMES
    assert len(simulated_panel) == 12
    assert simulated_panel["traded"].all()
    assert simulated_panel["n_fills"].sum() == 439


@pytest.mark.parametrize("key", list(EXPECTED), ids=lambda k: f"{k[0]}-{k[1]}")
def test_pinned_rows(simulated_panel, key):
    day, trader = key
    rows = simulated_panel[(simulated_panel["trade_date"] == day)
                           & (simulated_panel["trader_id"] == trader)]
    assert len(rows) == 1
    row = rows.iloc[0]
    expected = EXPECTED[key]
    assert set(expected) == set(PANEL_COLUMN_NAMES) - {"trade_date", "trader_id"}
    for column, value in expected.items():
        if isinstance(value, float):
            assert row[column] == pytest.approx(value, rel=1e-12, abs=0, nan_ok=True), column
        else:
            assert row[column] == value, column
