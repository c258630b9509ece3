"""Schema, determinism and internal consistency of the simulated tables."""

import datetime as dt

import numpy as np
import pandas as pd

from risk_dagster.core.calendar import session_bounds
from risk_dagster.core.schemas import FILLS, GROUND_TRUTH, TOTALS
from risk_dagster.simulator import SimulationConfig, iter_simulation, simulate, trader_ids


def test_schemas_conform(small_config):
    b = simulate(small_config, end=dt.date(2024, 1, 5))
    assert b.fills.schema.equals(FILLS.arrow)
    assert b.totals.schema.equals(TOTALS.arrow)
    assert b.truth.schema.equals(GROUND_TRUTH.arrow)
    assert b.fills.num_rows > 0


def test_same_seed_same_tables_and_other_seed_differs(small_config, small):
    again = simulate(small_config)
    assert again.fills.to_pandas().equals(small[0])
    assert again.totals.to_pandas().equals(small[1])
    assert again.truth.to_pandas().equals(small[2])
    other = simulate(SimulationConfig(**{**small_config.__dict__, "seed": 4}), end=dt.date(2024, 1, 3))
    assert not other.totals.to_pandas().equals(small[1][small[1].trade_date <= dt.date(2024, 1, 3)])


def test_a_date_alone_equals_the_date_inside_the_range(small_config, small):
    day = dt.date(2024, 1, 24)
    alone = simulate(small_config, start=day, end=day)
    fills = small[0][small[0].trade_date == day].reset_index(drop=True)
    assert len(fills) > 0
    assert alone.fills.to_pandas().equals(fills)
    assert alone.totals.to_pandas().equals(small[1][small[1].trade_date == day].reset_index(drop=True))


def test_chunks_concatenate_to_the_whole(small_config, small):
    chunks = list(iter_simulation(small_config, chunk_sessions=7))
    assert len(chunks) > 1
    assert sum(c.fills.num_rows for c in chunks) == len(small[0])


def test_totals_reconcile_with_fills(small):
    fills, totals, _ = small
    g = fills.groupby(["trade_date", "trader_id"]).agg(
        f_gross=("realized_pnl", "sum"), f_fees=("fees", "sum"), f_n=("fill_id", "size"),
        f_orders=("order_id", "nunique"), f_qty=("qty", "sum"))
    m = totals.set_index(["trade_date", "trader_id"]).join(g, how="outer")
    # every totals row has fills and vice versa (the simulator gives no End Balance)
    assert m.drop(columns=["end_balance"], errors="ignore").notna().all().all()
    np.testing.assert_allclose(m.gross_pnl, m.f_gross, atol=1e-6)
    np.testing.assert_allclose(m.fees, m.f_fees, atol=1e-6)
    assert (m.fills == m.f_n).all() and (m.orders == m.f_orders).all()
    np.testing.assert_allclose(m.qty, m.f_qty)
    np.testing.assert_allclose(m.net_pnl, m.gross_pnl - m.fees, atol=1e-9)
    np.testing.assert_allclose(m.total_delta, m.net_pnl + m.unrealized_delta, atol=1e-9)
    assert (fills.fees > 0).all() and (fills.qty > 0).all() and (fills.price > 0).all()
    np.testing.assert_allclose(fills.notional, fills.qty * fills.price)
    assert fills.fill_id.is_unique


def test_realized_pnl_is_average_cost(small):
    """Replay each trader's fills in time order with an average-cost book."""
    fills = small[0].sort_values(["trader_id", "ts", "fill_id"])
    ok = 0
    for (_, _), g in fills.groupby(["trader_id", "symbol"]):
        pos, cost = 0.0, 0.0
        for side, q, px, rp in zip(g.side, g.qty, g.price, g.realized_pnl):
            signed = q if side == "B" else -q
            if pos == 0 or np.sign(signed) == np.sign(pos):
                cost = (cost * abs(pos) + px * q) / (abs(pos) + q)
                expected = 0.0
            else:
                expected = np.sign(pos) * q * (px - cost)
            pos += signed
            assert abs(expected - rp) < 1e-6
            ok += 1
    assert ok == len(fills)


def test_short_sale_flag_marks_sells_that_open_shorts(small):
    fills = small[0].sort_values(["trader_id", "ts", "fill_id"])
    pos = fills.assign(s=np.where(fills.side == "B", fills.qty, -fills.qty)).groupby(
        ["trader_id", "symbol"]).s.cumsum()
    before = pos - np.where(fills.side == "B", fills.qty, -fills.qty)
    assert ((fills.side == "S") & (before <= 0)).eq(fills.short_sale).all()


def test_timestamps_inside_sessions(small):
    fills = small[0]
    days = pd.DatetimeIndex(sorted(fills.trade_date.unique()))
    opens, closes = session_bounds("XNYS", days)
    bounds = pd.DataFrame({"o": opens, "c": closes}, index=days.date)
    b = bounds.loc[fills.trade_date]
    assert (fills.ts.to_numpy() >= b.o.to_numpy()).all() and (fills.ts.to_numpy() < b.c.to_numpy()).all()


def test_overnight_positions_carry_unrealized_delta(small):
    fills, totals, _ = small
    signed = fills.assign(s=np.where(fills.side == "B", fills.qty, -fills.qty))
    per_day = signed.groupby(["trader_id", "symbol", "trade_date"]).s.sum()
    eod = per_day.groupby(level=[0, 1]).cumsum()
    open_at_close = (eod != 0).groupby(level=["trader_id", "trade_date"]).any()
    t = totals.set_index(["trader_id", "trade_date"]).sort_index()
    t["open_close"] = open_at_close.reindex(t.index, fill_value=False)
    t["open_before"] = t.groupby(level=0).open_close.shift(fill_value=False)
    assert t.open_close.sum() > 0  # swing traders carry positions overnight
    flat = ~t.open_close & ~t.open_before
    assert (t.unrealized_delta[flat] == 0).all()
    assert (t.unrealized_delta[~flat] != 0).all()


def test_trader_ids():
    assert trader_ids(SimulationConfig(n_traders=3)) == ["T0001", "T0002", "T0003"]
