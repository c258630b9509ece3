"""FIFO realized P&L with positions carried across days and chunks (hand-computed values)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from risk_dagster.ingest.fifo import FifoLedger, fifo_by_trader_day

D1, D2 = dt.date(2025, 1, 22), dt.date(2025, 1, 23)


def _fills(rows):
    """rows: (date, minute, trader, symbol, side, qty, price, multiplier)."""
    return pd.DataFrame([{
        "trade_date": d, "ts": pd.Timestamp(d).tz_localize("UTC") + pd.Timedelta(minutes=m),
        "trader_id": t, "symbol": s, "side": side, "qty": q, "price": p, "multiplier": mult,
        "fees": 0.5 * q} for d, m, t, s, side, q, p, mult in rows])


def test_oldest_lots_close_first():
    f = _fills([(D1, 1, "A", "X", "B", 10, 100.0, 1), (D1, 2, "A", "X", "B", 10, 110.0, 1),
                (D1, 3, "A", "X", "S", 15, 120.0, 1), (D1, 4, "A", "X", "S", 5, 100.0, 1)])
    # 10 x (120 - 100) + 5 x (120 - 110) = 250 (average cost would say 225), then 5 x (100 - 110)
    assert FifoLedger().realize(f).tolist() == [0.0, 0.0, 250.0, -50.0]


def test_a_fill_through_zero_closes_then_opens_the_rest():
    f = _fills([(D1, 1, "A", "X", "B", 5, 10.0, 1), (D1, 2, "A", "X", "S", 8, 12.0, 1),
                (D1, 3, "A", "X", "B", 3, 11.0, 1)])
    ledger = FifoLedger()
    assert ledger.realize(f).tolist() == [0.0, 10.0, 3.0]  # short 3 @ 12 covered @ 11
    assert ledger.open_positions() == {}


def test_position_carried_to_the_next_day_and_chunk_with_point_value():
    ledger = FifoLedger()
    day1 = fifo_by_trader_day(_fills([(D1, 600, "A", "MESH5", "B", 2, 6100.0, 5)]), ledger)
    assert day1["fifo_gross"].tolist() == [0.0]
    assert ledger.open_positions() == {("A", "MESH5"): 2}
    day2 = fifo_by_trader_day(_fills([(D2, 600, "A", "MESH5", "S", 2, 6110.0, 5)]), ledger)
    assert day2["fifo_gross"].tolist() == [pytest.approx(2 * 10 * 5)]


def test_traders_and_symbols_are_separate_and_time_order_wins_over_row_order():
    f = _fills([(D1, 9, "A", "X", "S", 1, 105.0, 1), (D1, 1, "A", "X", "B", 1, 100.0, 1),
                (D1, 2, "B", "X", "S", 1, 50.0, 1), (D1, 3, "A", "Y", "S", 1, 7.0, 1)])
    out = fifo_by_trader_day(f)
    assert out.set_index("trader_id")["fifo_gross"].to_dict() == {"A": 5.0, "B": 0.0}
    assert out.set_index("trader_id")["fills_fees"].to_dict() == {"A": 1.5, "B": 0.5}


def test_deferred_fills_are_matched_before_the_next_ones():
    ledger = FifoLedger()
    ledger.defer(_fills([(D1, 600, "A", "X", "S", 3, 50.0, 10)]))
    assert ledger.lots == {}  # nothing matched yet
    out = fifo_by_trader_day(_fills([(D2, 600, "A", "X", "B", 3, 48.0, 10)]), ledger)
    assert out["fifo_gross"].tolist() == [pytest.approx(3 * 2.0 * 10)]
    assert ledger.open_positions() == {}
