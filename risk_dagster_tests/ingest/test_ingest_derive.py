"""Totals derived from fills, and the average-cost realized P&L estimate."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from risk_dagster.core.schemas import FILLS, TOTALS
from risk_dagster.ingest import average_cost_pnl, derive_totals


def _fills(trades: list[tuple[str, str, float, float]], pnl: float | None = None) -> pd.DataFrame:
    """Fills from (trader, side, qty, price), one second apart, one symbol."""
    n = len(trades)
    frame = pd.DataFrame({
        "trade_date": [dt.date(2024, 1, 2)] * n,
        "ts": pd.date_range("2024-01-02 15:00", periods=n, freq="s", tz="UTC"),
        "trader_id": [t[0] for t in trades], "symbol": "XYZ", "side": [t[1] for t in trades],
        "short_sale": False, "qty": [t[2] for t in trades], "price": [t[3] for t in trades],
        "fees": 0.5, "liquidity": None, "route": None, "order_id": [f"O{i // 2}" for i in range(n)],
        "fill_id": [f"F{i}" for i in range(n)], "realized_pnl": pnl, "source": "test",
    })
    frame["notional"] = frame["qty"] * frame["price"]
    return FILLS.conform(frame)


def test_average_cost_pnl_adds_reduces_and_flips():
    fills = _fills([("A", "B", 10, 100), ("A", "B", 10, 110),   # avg 105
                    ("A", "S", 15, 120),                         # +15 x 15 = 225
                    ("A", "S", 10, 100),                         # closes 5: -25, short 5 @ 100
                    ("A", "B", 5, 90)])                          # covers: +50
    assert average_cost_pnl(fills).tolist() == pytest.approx([0, 0, 225, -25, 50])


def test_average_cost_pnl_is_per_trader_and_in_time_order():
    fills = _fills([("A", "B", 1, 10), ("B", "S", 2, 50), ("A", "S", 1, 12), ("B", "B", 2, 45)])
    shuffled = fills.iloc[[3, 1, 2, 0]].reset_index(drop=True)
    expected = {"F0": 0.0, "F1": 0.0, "F2": 2.0, "F3": 10.0}
    got = dict(zip(shuffled["fill_id"], average_cost_pnl(shuffled)))
    assert got == pytest.approx(expected)


def test_derive_totals_uses_source_realized_pnl():
    fills = _fills([("A", "B", 10, 100), ("A", "S", 10, 101), ("B", "B", 3, 7)], pnl=4.0)
    totals = derive_totals(fills).set_index("trader_id")
    assert totals.loc["A", ["orders", "fills", "qty"]].tolist() == [1, 2, 20.0]
    assert totals.loc["A", ["gross_pnl", "fees", "net_pnl", "unrealized_delta", "total_delta"]] \
        .tolist() == pytest.approx([8.0, 1.0, 7.0, 0.0, 7.0])
    assert totals.loc["B", "fills"] == 1 and totals["derived"].all()


def test_derive_totals_estimates_missing_realized_pnl():
    fills = _fills([("A", "B", 10, 100), ("A", "S", 10, 101)])
    assert fills["realized_pnl"].isna().all()
    totals = derive_totals(fills)
    assert totals["gross_pnl"].tolist() == pytest.approx([10.0])
    assert totals["net_pnl"].tolist() == pytest.approx([9.0])


def test_derive_totals_of_no_fills_is_empty():
    totals = derive_totals(FILLS.empty())
    assert totals.empty and list(totals.columns) == TOTALS.names
