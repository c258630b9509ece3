"""fills_daily_aggregates: exact values on hand-made fills, and agreement with the pandas
reference (bench/pandas_reference.py) on generated fills."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from bench.pandas_reference import pandas_daily_aggregates
from risk_dagster.panel import AGGREGATE_COLUMNS, fills_daily_aggregates
from risk_dagster_tests.factories import fills_from_rows

DAY = dt.date(2024, 1, 3)  # XNYS session 14:30-21:00 UTC


def _aggregate(fills: pd.DataFrame, calendar: str = "XNYS") -> pd.DataFrame:
    con = duckdb.connect()
    con.register("fills", fills)
    return fills_daily_aggregates(con, "fills", calendar=calendar)


def test_hand_made_day_has_exact_aggregates():
    fills = fills_from_rows([
        # order A: buy 100 @10.00 then 100 @10.10, 30 s apart, in the first hour
        {"t": "14:35:00", "side": "B", "qty": 100, "price": 10.0, "order_id": "A", "fees": 0.5,
         "liquidity": "add", "route": "ARCA"},
        {"t": "14:35:30", "side": "B", "qty": 100, "price": 10.1, "order_id": "A", "fees": 0.5,
         "liquidity": None, "route": "ARCA"},
        # order B: sell 200 @10.05 in the last hour, another symbol and route
        {"t": "20:30:00", "side": "S", "qty": 200, "price": 10.05, "order_id": "B", "fees": 1.0,
         "liquidity": "remove", "route": "NSDQ", "symbol": "BBB"},
    ], trade_date=DAY)
    row = _aggregate(fills).iloc[0]
    assert row["trade_date"] == DAY and row["trader_id"] == "T0001"
    assert (row["n_orders"], row["n_fills"], row["n_symbols"], row["n_routes"]) == (2, 3, 2, 2)
    assert row["qty"] == 400 and row["notional"] == pytest.approx(1000 + 1010 + 2010)
    assert row["add_liq_rate"] == pytest.approx(0.5)  # the null flag is left out
    assert row["remove_liq_rate"] == pytest.approx(0.5)
    assert row["first_hour_fill_rate"] == pytest.approx(2 / 3)
    assert row["last_hour_fill_rate"] == pytest.approx(1 / 3)
    assert row["buy_rate"] == pytest.approx(2 / 3)
    assert row["fills_per_order"] == pytest.approx(1.5)
    assert row["avg_order_duration_s"] == pytest.approx(15.0)  # (30 + 0) / 2
    # order A moved +100 bps in its (buy) direction, order B 0 bps; weights 2010 and 2010
    assert row["price_impact_bps"] == pytest.approx(50.0)
    assert row["cost_per_share"] == pytest.approx(2.0 / 400)
    assert row["fee_rate_bps"] == pytest.approx(2.0 / 4020 * 1e4)
    assert row["avg_order_notional"] == pytest.approx(2010.0)
    assert row["first_fill_frac"] == pytest.approx(5 / 390)
    assert row["last_fill_frac"] == pytest.approx(360 / 390)
    # AAA's bucket VWAP is 2010/200 = 10.05: each fill is 0.05 away; BBB is alone in its bucket.
    spread_a = 2 * 0.05 / 10.05 * 1e4
    assert row["eff_spread_bps"] == pytest.approx(spread_a * 2010 / 4020)
    # AAA opened 10.00, closed 10.10 (+1%), range 1%; BBB flat
    assert row["traded_symbols_abs_return"] == pytest.approx(0.01 * 2010 / 4020)
    assert row["traded_symbols_range"] == pytest.approx(0.01 * 2010 / 4020)
    assert row["fills_fees"] == pytest.approx(2.0)
    assert np.isnan(row["fills_gross_pnl"])  # no fill reports realized P&L


def test_same_instant_fills_are_ordered_by_fill_id():
    # Both fills at the same second: the first by fill_id (index 0) is the 10.00 fill.
    fills = fills_from_rows([
        {"t": "15:00:00", "side": "S", "qty": 100, "price": 10.0, "order_id": "A"},
        {"t": "15:00:00", "side": "S", "qty": 100, "price": 9.9, "order_id": "A"},
    ], trade_date=DAY)
    row = _aggregate(fills).iloc[0]
    assert row["price_impact_bps"] == pytest.approx(100.0)  # a sell that walked down 1%
    assert _aggregate(fills.iloc[::-1].copy()).iloc[0]["price_impact_bps"] == pytest.approx(100.0)


def test_24_7_first_hour_is_the_first_utc_hour():
    fills = fills_from_rows([
        {"t": "00:10:00", "side": "B", "qty": 1, "price": 100.0},
        {"t": "12:00:00", "side": "S", "qty": 1, "price": 101.0},
        {"t": "23:30:00", "side": "S", "qty": 1, "price": 101.0},
    ], trade_date=dt.date(2024, 1, 6), trader_id="0xabc")
    row = _aggregate(fills, "24/7").iloc[0]
    assert row["first_hour_fill_rate"] == pytest.approx(1 / 3)
    assert row["last_hour_fill_rate"] == pytest.approx(1 / 3)
    assert row["last_fill_frac"] == pytest.approx(23.5 / 24)


def test_matches_the_pandas_reference(small_fills):
    fills = small_fills.copy()
    fills.loc[fills.index % 7 == 0, "realized_pnl"] = np.nan
    fills.loc[(fills["trader_id"] == "T0002"), "realized_pnl"] = np.nan
    fast = _aggregate(fills)
    slow = pandas_daily_aggregates(fills, calendar="XNYS")
    assert list(fast.columns) == ["trade_date", "trader_id", *AGGREGATE_COLUMNS]
    assert len(fast) == 8 * 6
    pd.testing.assert_frame_equal(fast, slow, check_dtype=False, rtol=1e-9)
    assert fast.loc[fast["trader_id"] == "T0002", "fills_gross_pnl"].isna().all()
