"""Futures fills in the panel: round-trip P&L and position notionals use the point value."""

from __future__ import annotations

import duckdb
import pytest

from risk_dagster.ingest import parse_file
from risk_dagster.panel.aggregates import fills_daily_aggregates
from risk_dagster.panel.intraday import intraday_behaviour
from risk_dagster_tests.ingest.broker_samples import MES_GROSS, tradovate_csv


@pytest.fixture
def mes_fills(tmp_path):
    path = tmp_path / "tradovate.csv"
    path.write_text(tradovate_csv())
    return parse_file(path, "tradovate", calendar="XNYS").fills


def test_round_trips_and_exposure_in_usd(mes_fills):
    out = intraday_behaviour(mes_fills, calendar="XNYS")
    assert len(out) == 1
    row = out.iloc[0]
    assert row["rt_realized_pnl"] == pytest.approx(MES_GROSS)  # 12.50 points x $5
    assert row["max_position_notional"] == pytest.approx(2 * 6100.00 * 5)
    # without the multiplier column the same fills read as 1.0 per point
    plain = intraday_behaviour(mes_fills.drop(columns=["multiplier"]), calendar="XNYS")
    assert plain.iloc[0]["rt_realized_pnl"] == pytest.approx(12.50)


def test_daily_aggregates_notional_in_usd_and_spread_in_price_units(mes_fills):
    con = duckdb.connect()
    con.register("mes", mes_fills)
    agg = fills_daily_aggregates(con, "mes", calendar="XNYS").iloc[0]
    qty_price = (mes_fills["qty"] * mes_fills["price"]).sum()
    assert agg["notional"] == pytest.approx(qty_price * 5)
    assert agg["avg_order_notional"] == pytest.approx(qty_price * 5 / 6)
    assert agg["eff_spread_bps"] == pytest.approx(0.0)  # each 5-minute bucket has one price
