"""build_trader_day_panel from a lake: contract columns, P&L sources, non-traded roster days,
chunking, and point in time (fills after D never change the panel at D)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from risk_dagster.core.calendar import sessions
from risk_dagster.panel import PANEL_COLUMN_NAMES, PANEL_COLUMNS, build_trader_day_panel
from risk_dagster_tests.panel.conftest import write_fills, write_totals
from risk_dagster_tests.factories import make_fills, trader_ids

CONTRACT = """trade_date trader_id traded gross_pnl fees net_pnl unrealized_delta total_pnl n_orders
n_fills qty notional n_symbols n_routes add_liq_rate remove_liq_rate first_hour_fill_rate
last_hour_fill_rate buy_rate fills_per_order avg_order_duration_s price_impact_bps cost_per_share
eff_spread_bps fee_rate_bps n_round_trips rt_win_rate intraday_max_drawdown time_of_low_frac
trades_after_loss size_after_loss_ratio reentry_time_after_loss_s hold_time_losers_s
hold_time_winners_s size_escalation avg_order_notional max_position_notional first_fill_frac
last_fill_frac traded_symbols_abs_return traded_symbols_range""".split()

DAYS = [d.date() for d in sessions("XNYS", dt.date(2024, 1, 2), dt.date(2024, 2, 29))]


@pytest.fixture
def firm_fills() -> pd.DataFrame:
    """4 traders over 41 sessions; T0002 stops after session 5, T0003 starts at session 10."""
    fills = make_fills(DAYS, trader_ids(4), 15, seed=11)
    day = fills["trade_date"].map({d: i for i, d in enumerate(DAYS)})
    gone = (fills["trader_id"] == "T0002") & (day > 5)
    late = (fills["trader_id"] == "T0003") & (day < 10)
    return fills[~gone & ~late].reset_index(drop=True)


def _totals(fills: pd.DataFrame, days: list[dt.date]) -> pd.DataFrame:
    """Totals for ``days``: T0001's gross is its realized P&L + 1000 (so the source is visible),
    and T0002 reports an unrealized change of -75 every day, traded or not."""
    rows = []
    for d in days:
        for trader in ("T0001", "T0002"):
            mine = fills[(fills["trade_date"] == d) & (fills["trader_id"] == trader)]
            gross = mine["realized_pnl"].sum() + (1000.0 if trader == "T0001" else 0.0)
            fees, unrl = mine["fees"].sum(), -75.0 if trader == "T0002" else 0.0
            rows.append({"trade_date": d, "trader_id": trader, "orders": mine["order_id"].nunique(),
                         "fills": len(mine), "qty": mine["qty"].sum(), "gross_pnl": gross,
                         "fees": fees, "net_pnl": gross - fees, "unrealized_delta": unrl,
                         "total_delta": gross - fees + unrl, "derived": False, "source": "test"})
    return pd.DataFrame(rows)


def test_columns_follow_the_contract_and_catalog(lake, firm_fills):
    write_fills(lake, firm_fills)
    panel = build_trader_day_panel(lake, DAYS[20:25], calendar="XNYS")
    assert set(CONTRACT) <= set(panel.columns)
    assert list(panel.columns) == PANEL_COLUMN_NAMES
    assert all(len(c) == 4 and all(isinstance(x, str) for x in c) for c in PANEL_COLUMNS)
    assert panel["trade_date"].map(type).eq(dt.date).all()
    assert panel["traded"].dtype == bool
    assert not panel.duplicated(["trade_date", "trader_id"]).any()


def test_roster_days_without_fills_are_nan_not_zero(lake, firm_fills):
    write_fills(lake, firm_fills)
    write_totals(lake, _totals(firm_fills, DAYS))
    panel = build_trader_day_panel(lake, DAYS[:30], calendar="XNYS")
    t2 = panel[panel["trader_id"] == "T0002"].set_index("trade_date")
    # T0002 trades sessions 0-5, stays on the roster 20 more sessions, then drops off.
    assert list(t2.index) == DAYS[:26]
    idle = t2.loc[DAYS[6:26]]
    assert not idle["traded"].any()
    assert idle[["n_fills", "notional", "net_pnl", "gross_pnl", "fees", "n_round_trips",
                 "eff_spread_bps", "intraday_max_drawdown"]].isna().all().all()
    assert (idle["unrealized_delta"] == -75.0).all() and (idle["total_pnl"] == -75.0).all()
    assert (idle["pnl_source"] == "totals").all()
    # T0003 is not on the roster before its first fill (session 10).
    t3 = panel[panel["trader_id"] == "T0003"]
    assert t3["trade_date"].min() == DAYS[10] and t3["traded"].all()


def test_pnl_comes_from_totals_else_fills_else_round_trips(lake, firm_fills):
    fills = firm_fills.copy()
    fills.loc[fills["trader_id"] == "T0004", "realized_pnl"] = np.nan
    write_fills(lake, fills)
    write_totals(lake, _totals(fills, DAYS[:3]))  # totals only for the first 3 sessions
    panel = build_trader_day_panel(lake, DAYS[:6], calendar="XNYS").set_index(
        ["trade_date", "trader_id"])
    day0 = DAYS[0]
    mine = fills[(fills["trade_date"] == day0) & (fills["trader_id"] == "T0001")]
    with_totals = panel.loc[(day0, "T0001")]
    assert with_totals["pnl_source"] == "totals"
    assert with_totals["gross_pnl"] == pytest.approx(mine["realized_pnl"].sum() + 1000)
    assert with_totals["unrealized_delta"] == 0.0
    assert with_totals["total_pnl"] == pytest.approx(with_totals["net_pnl"])
    day4 = DAYS[4]
    mine = fills[(fills["trade_date"] == day4) & (fills["trader_id"] == "T0001")]
    from_fills = panel.loc[(day4, "T0001")]
    assert from_fills["pnl_source"] == "fills"
    assert from_fills["gross_pnl"] == pytest.approx(mine["realized_pnl"].sum())
    assert from_fills["net_pnl"] == pytest.approx(mine["realized_pnl"].sum() - mine["fees"].sum())
    assert np.isnan(from_fills["unrealized_delta"]) and np.isnan(from_fills["total_pnl"])
    rebuilt = panel.loc[(day4, "T0004")]
    assert rebuilt["pnl_source"] == "round_trips" and np.isfinite(rebuilt["gross_pnl"])


def test_chunk_size_does_not_change_the_panel(lake, firm_fills):
    write_fills(lake, firm_fills)
    one = build_trader_day_panel(lake, DAYS[5:35], calendar="XNYS", chunk_sessions=100)
    many = build_trader_day_panel(lake, DAYS[5:35], calendar="XNYS", chunk_sessions=4)
    pd.testing.assert_frame_equal(one, many)
    assert len(one) > 0


def test_panel_at_d_ignores_everything_after_d(lake, firm_fills):
    write_fills(lake, firm_fills)
    write_totals(lake, _totals(firm_fills, DAYS))
    d = DAYS[30]
    before = build_trader_day_panel(lake, DAYS, calendar="XNYS")
    before = before[before["trade_date"] <= d].reset_index(drop=True)

    # After D: delete sessions, change prices and sizes, add a new trader, and bring back T0002
    # (off the roster since session 26) so a roster looking ahead would list it at D.
    for day in DAYS[31:34]:
        lake.delete("raw_fills", "date", day.isoformat())
    later = firm_fills[firm_fills["trade_date"] > DAYS[34]].copy()
    later["price"] *= 1.5
    later["qty"] *= 3
    later["notional"] = later["qty"] * later["price"]
    extra = make_fills(DAYS[35:38], ["T0099"], 10, seed=99)
    returner = make_fills(DAYS[32:33], ["T0002"], 5, seed=5)
    write_fills(lake, pd.concat([later, extra, returner], ignore_index=True))
    write_totals(lake, _totals(later, DAYS[35:]).assign(gross_pnl=-1e6))

    after = build_trader_day_panel(lake, DAYS, calendar="XNYS")
    after = after[after["trade_date"] <= d].reset_index(drop=True)
    pd.testing.assert_frame_equal(before, after)
    assert "T0002" not in set(after.loc[after["trade_date"] == d, "trader_id"])
    upto_d = build_trader_day_panel(lake, DAYS[:31], calendar="XNYS")
    pd.testing.assert_frame_equal(before, upto_d)


def test_24_7_venue_uses_calendar_days_and_wallet_ids(lake):
    fills = make_fills([dt.date(2024, 3, d) for d in (1, 2, 3)], trader_ids(2), 10, seed=4,
                       calendar="24/7")
    fills["trader_id"] = fills["trader_id"].map({"T0001": "0xae5e01", "T0002": "0xae5e02"})
    write_fills(lake, fills[fills["trade_date"] != dt.date(2024, 3, 2)])  # a quiet Saturday
    days = [dt.date(2024, 3, 1) + dt.timedelta(days=i) for i in range(4)]
    panel = build_trader_day_panel(lake, days, calendar="24/7")
    assert sorted(set(panel["trade_date"])) == days  # weekend days are sessions
    assert set(panel["trader_id"]) == {"0xae5e01", "0xae5e02"}
    by_day = panel.groupby("trade_date")["traded"].all()
    assert list(by_day) == [True, False, True, False]
    traded = panel[panel["traded"]]
    assert traded["first_fill_frac"].between(0, 1).all()
    assert traded["first_hour_fill_rate"].notna().all()


def test_a_chunk_without_any_fills_still_lists_the_roster(lake, firm_fills):
    write_fills(lake, firm_fills[firm_fills["trade_date"] <= DAYS[2]])
    panel = build_trader_day_panel(lake, DAYS[:7], calendar="XNYS", chunk_sessions=2)
    quiet = panel[panel["trade_date"] >= DAYS[4]]
    assert len(quiet) == 3 * 3  # T0001, T0002, T0004 on the roster, T0003 not started
    assert not quiet["traded"].any()
    assert quiet.drop(columns=["trade_date", "trader_id", "traded", "pnl_source"]).isna().all().all()
    assert list(panel.columns) == PANEL_COLUMN_NAMES
