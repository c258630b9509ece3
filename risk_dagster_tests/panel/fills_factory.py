"""Generated canonical fills (FILLS schema) for the panel tests and the bench, vectorized so that a
few million rows take seconds. Also a tiny hand-written builder for exact-value tests."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from risk_dagster.core.calendar import session_bounds, sessions
from risk_dagster.core.schemas import FILLS

SYMBOLS = np.array(["AAPL", "MSFT", "NVDA", "TSLA", "AMD", "META", "AMZN", "SPY"])
ROUTES = np.array(["ARCA", "NSDQ", "EDGX", "BATS"])


def make_fills(
    n_traders: int,
    start: dt.date,
    n_days: int,
    fills_per_day: int,
    *,
    calendar: str = "XNYS",
    seed: int = 0,
) -> pd.DataFrame:
    """Random canonical fills: every trader trades every session, ``fills_per_day`` fills a day,
    orders of 1 or more consecutive fills (one side and symbol each), prices noisy around a
    level per symbol-day, timestamps inside the session."""
    rng = np.random.default_rng(seed)
    days = sessions(calendar, start, start + dt.timedelta(days=n_days * 2 + 10))[:n_days]
    opens, closes = session_bounds(calendar, days)
    n = n_traders * len(days) * fills_per_day
    day_idx = np.repeat(np.arange(len(days)), n_traders * fills_per_day)
    trader_idx = np.tile(np.repeat(np.arange(n_traders), fills_per_day), len(days))
    open_us = opens.as_unit("us").asi8[day_idx]
    span_us = (closes.as_unit("us").asi8 - opens.as_unit("us").asi8)[day_idx]
    # Orders of 1-4 consecutive fills that never straddle two trader-days; an order has one
    # side and symbol, and its fills come within a minute of its start.
    new_order = (rng.random(n) < 0.5) | (np.arange(n) % fills_per_day == 0)
    order_no = np.cumsum(new_order) - 1
    n_orders = int(order_no[-1]) + 1
    order_start = rng.random(n_orders)
    t_us = open_us + (order_start[order_no] * (span_us - 60_000_000)).astype("int64")
    t_us += rng.integers(0, 60_000_000, n)
    sym_idx = (rng.integers(0, 3, n_orders) + trader_idx[new_order] % (len(SYMBOLS) - 3))[order_no]
    # One price level per symbol-day plus noise, so the spread reference is meaningful.
    base = 50.0 + 10.0 * np.arange(len(SYMBOLS))
    level = base[sym_idx] * (1 + 0.02 * np.sin(day_idx + sym_idx))
    price = np.round(level * (1 + 0.002 * rng.standard_normal(n)), 2)
    qty = rng.integers(1, 10, n).astype("float64") * 100
    side = np.where(rng.random(n_orders) < 0.5, "B", "S")[order_no]
    liquidity = np.where(rng.random(n) < 0.5, "add", "remove").astype(object)
    liquidity[rng.random(n) < 0.1] = None
    notional = qty * price
    frame = pd.DataFrame({
        "trade_date": pd.DatetimeIndex(days[day_idx]).date,
        "ts": pd.to_datetime(t_us, unit="us", utc=True),
        "trader_id": np.char.add("T", np.char.zfill((trader_idx + 1).astype(str), 4)),
        "symbol": SYMBOLS[sym_idx],
        "side": side,
        "short_sale": False,
        "qty": qty,
        "price": price,
        "notional": notional,
        "fees": np.round(qty * 0.003, 4),
        "liquidity": liquidity,
        "route": ROUTES[rng.integers(0, len(ROUTES), n)],
        "order_id": np.char.add("O", order_no.astype(str)),
        "fill_id": np.char.add("F", np.arange(n).astype(str)),
        "realized_pnl": np.round(rng.normal(0, 20, n), 2),
        "source": "test",
    })
    return FILLS.conform(frame)


def fills_from_rows(rows: list[dict], *, trade_date: dt.date, trader_id: str = "T0001") -> pd.DataFrame:
    """Canonical fills from short dicts: ``{"t": "14:31:00", "side": "B", "qty": 100,
    "price": 10.0}`` plus optional ``symbol``, ``order_id``, ``fees``, ``liquidity``, ``route``,
    ``trader_id``. ``t`` is a UTC time on ``trade_date``."""
    out = []
    for i, r in enumerate(rows):
        qty, price = float(r["qty"]), float(r["price"])
        out.append({
            "trade_date": trade_date,
            "ts": pd.Timestamp(f"{trade_date} {r['t']}", tz="UTC"),
            "trader_id": r.get("trader_id", trader_id),
            "symbol": r.get("symbol", "AAA"),
            "side": r["side"],
            "short_sale": False,
            "qty": qty,
            "price": price,
            "notional": qty * price,
            "fees": float(r.get("fees", 0.0)),
            "liquidity": r.get("liquidity", "add"),
            "route": r.get("route", "ARCA"),
            "order_id": r.get("order_id", f"O{i}"),
            "fill_id": f"F{trade_date:%Y%m%d}{i:05d}",
            "realized_pnl": r.get("realized_pnl"),
            "source": "test",
        })
    return FILLS.conform(pd.DataFrame(out))
