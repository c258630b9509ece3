"""Execute a day's plan against the symbols' paths: orders, their fills (qty split, prices
walking the book, timestamps, liquidity, fees) and average-cost realized P&L per fill."""

from __future__ import annotations

import numpy as np

from risk_dagster.simulator.fees import total_fees
from risk_dagster.simulator.market import GRID_SECONDS, MarketDay
from risk_dagster.simulator.plan import (LOT, RoundTrips, cost_per_share, draw_carry_exits,
                                        draw_fill_counts, half_spread)

ROUTES = {"XNYS": ("ARCA", "NSDQ", "EDGX", "BATS", "IEX"), "24/7": ("CBSE", "KRKN", "BNCE")}


def _orders(rt: RoundTrips, rows: np.ndarray, md: MarketDay, carry: dict[str, np.ndarray],
            rng: np.random.Generator, fill_lambda: np.ndarray) -> dict[str, np.ndarray]:
    """Orders of the day: carried positions' exits, then every round trip's entry and exit."""
    p = md.p_ref
    sym = rt.symbol
    sd = p[sym] * md.scale[sym] * np.sqrt(md.curve[rt.g_out] - md.curve[rt.g_in])
    entry_px = md.mids[sym, rt.g_in] + rt.direction * (
        cost_per_share(rt.add_in, rt.qty, p[sym]) - rt.edge * sd)
    exit_px = md.mids[sym, rt.g_out] - rt.direction * cost_per_share(rt.add_out, rt.qty, p[sym])
    ci = np.flatnonzero(carry["has"][rows])  # rows (trading traders) with a carried position
    tr = rows[ci]
    c_sym, c_qty, c_dir = carry["symbol"][tr], carry["qty"][tr], carry["direction"][tr]
    t_x, add_x, n_x = draw_carry_exits(rng, ci.size, fill_lambda[ci], c_qty)
    g_x = (t_x // GRID_SECONDS).astype(np.int64)
    c_px = md.mids[c_sym, g_x] - c_dir * cost_per_share(add_x, c_qty, p[c_sym])
    fills_in, fills_out = draw_fill_counts(rng, rt, fill_lambda)
    done = np.flatnonzero(~rt.carried)
    n_rt = rt.row.size
    cat = np.concatenate
    return {
        "row": cat([ci, rt.row, rt.row[done]]),
        "symbol": cat([c_sym, sym, sym[done]]),
        "t": cat([t_x, rt.t_in, rt.t_out[done]]),
        "buy": cat([c_dir < 0, rt.direction > 0, rt.direction[done] < 0]),
        "short": cat([np.zeros(ci.size, bool), rt.direction < 0, np.zeros(done.size, bool)]),
        "qty": cat([c_qty, rt.qty, rt.qty[done]]),
        "avg_px": cat([c_px, entry_px, exit_px[done]]),
        "add": cat([add_x, rt.add_in, rt.add_out[done]]),
        "n_fills": cat([n_x, fills_in, fills_out[done]]),
        # position key: -1 - carried index for a carried exit, else the round trip index
        "rt": cat([-1 - ci, np.arange(n_rt), done]),
        "is_exit": cat([np.ones(ci.size, bool), np.zeros(n_rt, bool), np.ones(done.size, bool)]),
        "direction": cat([c_dir, rt.direction, rt.direction[done]]),
    }


def _split(rng: np.random.Generator, o: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Fill -> order index and fill qty (shares, multiples of LOT summing to the order's qty)."""
    n = o["n_fills"]
    order = np.repeat(np.arange(n.size), n)
    first = np.concatenate([[0], np.cumsum(n)[:-1]])
    spare = o["qty"] // LOT - n  # units beyond one per fill
    w = rng.exponential(1.0, order.size)
    w = w / np.bincount(order, w)[order]
    units = 1 + np.floor(spare[order] * w).astype(np.int64)
    short_by = o["qty"] // LOT - np.bincount(order, units, n.size).astype(np.int64)
    units[first + n - 1] += short_by
    return order, units * LOT


def execute_day(rng: np.random.Generator, rt: RoundTrips, rows: np.ndarray, md: MarketDay,
                carry: dict[str, np.ndarray], fill_lambda: np.ndarray, session_s: float,
                calendar: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Fills of the day (arrays; ``trader`` is the trader index) and the carried positions at the
    close (``has, symbol, qty, direction, cost`` for the traders in ``rows`` that carry one).
    ``rows`` maps plan rows to trader indices; ``carry`` is the state at the previous close."""
    o = _orders(rt, rows, md, carry, rng, fill_lambda)
    order, qty = _split(rng, o)
    q_ord = o["qty"][order]
    cum = np.cumsum(qty) - np.repeat(np.cumsum(o["qty"]) - o["qty"], o["n_fills"])
    frac = (cum - qty / 2.0) / q_ord  # qty-weighted mean is exactly 1/2 within an order
    sign = np.where(o["buy"][order], 1.0, -1.0)
    walk = sign * half_spread(md.p_ref[o["symbol"][order]]) * (frac - 0.5)
    price = np.maximum(np.round(o["avg_px"][order] + walk, 4), 0.0001)
    offsets = rng.exponential(0.5, order.size)
    offsets[np.concatenate([[0], np.cumsum(o["n_fills"])[:-1]])] = 0.0
    # fills of an order arrive within 2 s, so orders of a trader never interleave
    t = o["t"][order] + 2.0 * (1.0 - np.exp(-_order_cumsum(offsets, o["n_fills"]) / 2.0))
    t = np.minimum(t, session_s - 1.0)
    # average cost of each position from the rounded entry fills
    entry = ~o["is_exit"][order]
    key = o["rt"][order]
    n_rt = rt.row.size
    cost_num = np.bincount(key[entry], (qty * price)[entry], n_rt)
    cost_den = np.bincount(key[entry], qty[entry], n_rt)
    rt_cost = cost_num / np.maximum(cost_den, 1)
    carried_cost = carry["cost"][rows]
    pos_cost = np.where(key >= 0, rt_cost[np.maximum(key, 0)], carried_cost[np.maximum(-1 - key, 0)])
    realized = np.where(entry, 0.0, o["direction"][order] * qty * (price - pos_cost))
    sell = ~o["buy"][order]
    add = o["add"][order]
    notional = qty * price
    routes = ROUTES.get(calendar, ROUTES["XNYS"])
    fills = {
        "trader": rows[o["row"][order]], "t": t, "symbol": o["symbol"][order],
        "buy": o["buy"][order], "short": o["short"][order], "qty": qty.astype(float),
        "price": price, "notional": notional, "fees": total_fees(qty, notional, sell, add),
        "add": add, "route": rng.integers(0, len(routes), o["qty"].size)[order],
        "order": order, "realized": realized,
    }
    out = np.flatnonzero(rt.carried)
    carry_out = {"trader": rows[rt.row[out]], "symbol": rt.symbol[out], "qty": rt.qty[out],
                 "direction": rt.direction[out], "cost": rt_cost[out]}
    return fills, carry_out


def _order_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    total = np.cumsum(values)
    ends = np.cumsum(counts) - 1
    before = np.concatenate([[0.0], total[ends[:-1]]])
    return total - np.repeat(before, counts)
