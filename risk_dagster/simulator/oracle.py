"""The oracle: the true probability, known at the previous close, that a trader-day is a
large-loss day (net P&L below the trader's threshold), conditional on the trader trading.

Method (Rao-Blackwellised Monte Carlo from the simulator's own distribution): for each trader we
draw ``n_draws`` replicates of everything the day may bring that is unknown at the close: the
regime, the market and symbol day scales, and the whole plan of round trips (count, sizes, times,
symbols, liquidity, fills, carry decision), using the very function that draws the real day.
Given a replicate, the only randomness left is the mid-price moves over the holding periods, which
are independent Normals (arithmetic intraday Brownian path, disjoint intervals), so the day's net
P&L is exactly Normal(mu, v) and P(net < threshold) = Phi((threshold - mu) / sqrt(v)). The
probability is the average over replicates. Approximations: the per-fill NSCC fee uses the
expected number of fills (a fraction of a cent); fees use the previous close instead of
the fill prices (sub-cent per order) and fill prices are rounded to 1/100 cent in the real day.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from risk_dagster.simulator import fees as fee_schedule
from risk_dagster.simulator.market import GAP_FRACTION, GRID_SECONDS, Market
from risk_dagster.simulator.plan import cost_per_share, draw_carry_exits, draw_round_trips
from risk_dagster.simulator.traders import LARGE_LOSS_QUANTILE, Traders


def _order_fees(qty: np.ndarray, price: np.ndarray, sell: np.ndarray, add: np.ndarray,
                n_fills: np.ndarray) -> np.ndarray:
    """The fee schedule of ``fees.py`` summed over an order's fills, before the 1/100-cent
    rounding of each component (the TAF cap never binds below 50,000 shares a fill)."""
    fs = fee_schedule
    per_share = (fs.COMMISSION_PER_SHARE + fs.CAT_PER_SHARE + fs.CLEARING_PER_SHARE
                 + np.where(add, fs.ECN_ADD_PER_SHARE, fs.ECN_REMOVE_PER_SHARE)
                 + sell * fs.TAF_PER_SHARE)
    return qty * (per_share + sell * fs.SEC_RATE * price) + fs.NSCC_PER_FILL * n_fills


def predictive_moments(rng: np.random.Generator, traders: Traders, rows: np.ndarray,
                       market: Market, curve: np.ndarray, session_s: float, forced: bool,
                       vol_mult: float, carry: dict[str, np.ndarray], allow_carry: np.ndarray,
                       n_draws: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance (USD, USD^2) of the day's net P&L of trader ``rows`` per replicate,
    arrays of shape (len(rows), n_draws). ``carry`` holds per-trader carried positions
    (has, symbol, qty, direction, cost) at the previous close."""
    regime, _, scale = market.draw_scales(rng, n_draws, forced, vol_mult)
    trader = np.repeat(rows, n_draws)
    draw = np.tile(np.arange(n_draws), rows.size)
    p_ref = market.close
    beh = traders.behaviour(trader, regime[draw].astype(float))
    rt = draw_round_trips(rng, beh, traders.symbols[trader], p_ref, session_s, allow_carry[trader])
    price = p_ref[rt.symbol]
    sd = price * scale[draw[rt.row], rt.symbol] * np.sqrt(curve[rt.g_out] - curve[rt.g_in])
    done = ~rt.carried
    c_in = cost_per_share(rt.add_in, rt.qty, price)
    c_out = cost_per_share(rt.add_out, rt.qty, price)
    n_fills = 1.0 + beh.fill_lambda[rt.row]  # only the per-fill NSCC fee depends on it
    fees = _order_fees(rt.qty, price, rt.direction < 0, rt.add_in, n_fills)
    fees += done * _order_fees(rt.qty, price, rt.direction > 0, rt.add_out, n_fills)
    mean_rt = done * rt.qty * (rt.edge * sd - c_in - c_out) - fees
    n_rows = trader.size
    mu = np.bincount(rt.row, mean_rt, n_rows)
    var = np.bincount(rt.row, done * (rt.qty * sd) ** 2, n_rows)
    # a position carried in: its move since the previous close is the known mean gap plus Normal
    has = carry["has"][trader]
    idx = np.flatnonzero(has)
    tr = trader[idx]
    sym, qty, d = carry["symbol"][tr], carry["qty"][tr], carry["direction"][tr]
    t_x, add_x, n_x = draw_carry_exits(rng, idx.size, beh.fill_lambda[idx], qty)
    px = p_ref[sym]
    g_x = (t_x // GRID_SECONDS).astype(np.int64)
    s_x = scale[draw[idx], sym]
    mean_px = px * (1.0 + market.expected_gap()[sym])
    mu[idx] += (d * qty * (mean_px - carry["cost"][tr]) - qty * cost_per_share(add_x, qty, px)
                - _order_fees(qty, px, d > 0, add_x, n_x))
    var[idx] += (qty * px * s_x) ** 2 * (GAP_FRACTION**2 + curve[g_x])
    return mu.reshape(rows.size, n_draws), var.reshape(rows.size, n_draws)


def p_large_loss(rng: np.random.Generator, mu: np.ndarray, var: np.ndarray,
                 threshold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(net < threshold) per row from the replicate moments (rows, draws); a NaN threshold
    (too little history) becomes the 10% quantile of the predictive distribution; a threshold is
    never above 0.
    Returns (probability, threshold used in USD)."""
    sd = np.sqrt(np.maximum(var, 1e-12))
    samples = mu + sd * rng.standard_normal(mu.shape)
    warm = np.quantile(samples, LARGE_LOSS_QUANTILE, axis=1)
    thr = np.minimum(np.where(np.isnan(threshold), warm, threshold), 0.0)  # a large loss is a loss
    return ndtr((thr[:, None] - mu) / sd).mean(axis=1), thr
