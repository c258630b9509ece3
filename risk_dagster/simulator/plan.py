"""The day's plan: each trader-day's round trips (symbol, direction, size, entry and exit times,
liquidity, number of fills, edge), drawn for all rows at once.

The same function draws the real day (one row per trader) and the oracle's Monte Carlo replicates
(one row per trader and draw), so the oracle samples exactly the simulator's distribution (the
number of fills of each order, which only moves the per-fill NSCC fee, is drawn separately by
``draw_fill_counts`` for the real day).
Round trips of a trader are sequential (one position at a time), so average-cost P&L is a
per-round-trip computation. A swing trader may carry the last round trip overnight; a carried
position is closed a few seconds after the next open, before any new round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from risk_dagster.simulator.market import GRID_SECONDS
from risk_dagster.simulator.traders import DayBehaviour

LOT = 10  # shares
CLOSE_BUFFER_S = 120.0  # every intraday round trip ends at least this long before the close


@dataclass
class RoundTrips:
    """Round trips of many rows (flattened; ``row`` says whose)."""

    row: np.ndarray
    seq: np.ndarray  # index within the row
    symbol: np.ndarray
    direction: np.ndarray  # +1 long, -1 short
    qty: np.ndarray  # shares
    t_in: np.ndarray  # seconds after the open
    t_out: np.ndarray
    g_in: np.ndarray  # grid index
    g_out: np.ndarray
    add_in: np.ndarray  # entry order adds liquidity
    add_out: np.ndarray
    edge: np.ndarray  # sd units of the holding-period move
    carried: np.ndarray  # no exit today


def _group_cumsum_exclusive(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per-group cumulative sum of ``values`` excluding the current element."""
    total = np.cumsum(values) - values
    return total - np.repeat(total[starts], counts)


def _n_fills(rng: np.random.Generator, lam: np.ndarray, qty: np.ndarray) -> np.ndarray:
    return np.minimum(1 + rng.poisson(lam), np.maximum(qty // LOT, 1)).astype(np.int64)


def draw_round_trips(rng: np.random.Generator, beh: DayBehaviour, pref_symbols: np.ndarray,
                     p_ref: np.ndarray, session_s: float, allow_carry: np.ndarray) -> RoundTrips:
    """Round trips of every row. ``pref_symbols`` (rows, k) symbol indices each row trades,
    ``p_ref`` previous closes (USD, per symbol), ``session_s`` session length in seconds,
    ``allow_carry`` (rows,) bool: may the row keep a position overnight."""
    n_rows = beh.rt_rate.size
    counts = 1 + rng.poisson(beh.rt_rate * rng.gamma(4.0, 0.25, n_rows))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    row = np.repeat(np.arange(n_rows), counts)
    hold = np.clip(beh.hold_s[row] * np.exp(rng.normal(0, 0.8, row.size)), 10.0, 0.5 * session_s)
    gap = np.maximum(beh.gap_s[row] * np.exp(rng.normal(0, 0.8, row.size)), 5.0)
    t_in = rng.uniform(60.0, 1200.0, n_rows)[row] + _group_cumsum_exclusive(hold + gap, starts, counts)
    t_out = t_in + hold
    # round trips that would end too close to the close are not taken (the first always fits)
    keep = np.flatnonzero(t_out <= session_s - CLOSE_BUFFER_S)
    row, t_in, t_out = row[keep], t_in[keep], t_out[keep]
    counts = np.bincount(row, minlength=n_rows)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    seq = np.arange(row.size) - np.repeat(starts, counts)
    n_grid = int(session_s // GRID_SECONDS)
    g_in = np.minimum((t_in // GRID_SECONDS).astype(np.int64), n_grid - 1)
    g_out = np.clip((t_out // GRID_SECONDS).astype(np.int64), g_in + 1, n_grid)
    pick = rng.integers(0, pref_symbols.shape[1], row.size)
    symbol = pref_symbols[row, pick]
    qty = np.maximum(np.round(beh.notional[row] * np.exp(rng.normal(0, 0.3, row.size))
                              / p_ref[symbol] / LOT), 1).astype(np.int64) * LOT
    carry_row = allow_carry & (rng.random(n_rows) < beh.carry_p)
    carried = np.zeros(row.size, dtype=bool)
    carried[starts + counts - 1] = carry_row
    return RoundTrips(
        row=row, seq=seq, symbol=symbol,
        direction=np.where(rng.random(row.size) < 0.5, 1, -1).astype(np.int64),
        qty=qty, t_in=t_in, t_out=t_out, g_in=g_in, g_out=g_out,
        add_in=rng.random(row.size) < beh.p_add[row],
        add_out=rng.random(row.size) < beh.p_add[row],
        edge=beh.edge[row] - beh.fatigue[row] * t_in / session_s,
        carried=carried,
    )


def draw_fill_counts(rng: np.random.Generator, rt: RoundTrips, fill_lambda: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Number of fills of each round trip's entry and exit order (``fill_lambda`` per row)."""
    lam = fill_lambda[rt.row]
    return _n_fills(rng, lam, rt.qty), _n_fills(rng, lam, rt.qty)


def draw_carry_exits(rng: np.random.Generator, n: int, lam: np.ndarray, qty: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exit of ``n`` carried positions: seconds after the open, adds liquidity, number of fills."""
    t = rng.uniform(5.0, 55.0, n)
    add = rng.random(n) < 0.2
    return t, add, _n_fills(rng, lam, qty)


def half_spread(price: np.ndarray) -> np.ndarray:
    """Half the quoted spread (USD/share) of a symbol at ``price``."""
    return np.maximum(0.005, 0.0002 * price)


def cost_per_share(add: np.ndarray, qty: np.ndarray, price: np.ndarray) -> np.ndarray:
    """Execution cost vs mid (USD/share, > 0 is a cost): a taker pays the half spread plus a
    square-root impact, a maker earns part of the half spread."""
    hs = half_spread(price)
    impact = 0.0001 * price * np.sqrt(qty / 1000.0)
    return np.where(add, -0.5 * hs, hs + impact)
