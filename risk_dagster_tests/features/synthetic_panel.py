"""A synthetic trader-day panel with the trader_day_panel contract's columns.

Traders join late, some stop trading (and leave the roster 20 sessions later), non-traded roster
days carry NaN aggregates, and a simple tilt state makes losses cluster into streaks with bigger,
busier trading after them. Vectorized over traders; the only loop is over sessions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

AGGREGATES = [
    "gross_pnl", "fees", "net_pnl", "n_orders", "n_fills", "qty", "notional", "n_symbols",
    "n_routes", "add_liq_rate", "remove_liq_rate", "first_hour_fill_rate",
    "last_hour_fill_rate", "buy_rate", "fills_per_order", "avg_order_duration_s",
    "price_impact_bps", "cost_per_share", "eff_spread_bps", "fee_rate_bps", "n_round_trips",
    "rt_win_rate", "intraday_max_drawdown", "time_of_low_frac", "trades_after_loss",
    "size_after_loss_ratio", "reentry_time_after_loss_s", "hold_time_losers_s",
    "hold_time_winners_s", "size_escalation", "avg_order_notional", "max_position_notional",
    "first_fill_frac", "last_fill_frac", "traded_symbols_abs_return", "traded_symbols_range",
]


def _pnl_paths(rng, n_s, n_t, scale, skill, p_trade):
    """Daily traded flags, net P&L (USD) and tilt (0..) per session x trader."""
    regime = np.ones(n_s)
    volatile = False
    for t in range(n_s):  # market regime: a two-state Markov chain over dates
        volatile = rng.random() < (0.9 if volatile else 0.05)
        regime[t] = 1.8 if volatile else 1.0
    traded = rng.random((n_s, n_t)) < p_trade
    pnl = np.zeros((n_s, n_t))
    tilt = np.zeros((n_s, n_t))
    cur = np.zeros(n_t)
    shocks = rng.standard_t(4, size=(n_s, n_t)) / np.sqrt(2.0)
    for t in range(n_s):
        day = scale * (skill - 0.5 * cur + regime[t] * (1 + 0.5 * cur) * shocks[t])
        pnl[t] = day
        tilt[t] = cur
        lost = traded[t] & (day < 0)
        cur = np.where(traded[t], 0.6 * cur + lost * 0.8, cur)
    return traded, pnl, tilt, regime


def make_panel(n_traders: int = 8, n_sessions: int = 120, seed: int = 0,
               start: str = "2024-01-02") -> pd.DataFrame:
    """A panel frame sorted by (trade_date, trader_id)."""
    rng = np.random.default_rng(seed)
    n_s, n_t = n_sessions, n_traders
    dates = pd.bdate_range(start, periods=n_s)
    ids = np.array([f"T{i + 1:04d}" for i in range(n_t)])
    join = np.where(rng.random(n_t) < 0.6, 0, rng.integers(0, max(n_s // 2, 1), n_t))
    join[0] = 0
    quit_ = np.where(rng.random(n_t) < 0.15, rng.integers(n_s // 2, n_s, n_t), n_s + 100)
    scale = rng.lognormal(np.log(800), 0.5, n_t)
    skill = rng.normal(0.05, 0.1, n_t)
    traded, pnl, tilt, regime = _pnl_paths(rng, n_s, n_t, scale, skill,
                                           rng.uniform(0.7, 0.95, n_t))
    s_idx = np.arange(n_s)[:, None]
    traded = (traded | (s_idx == join)) & (s_idx >= join) & (s_idx <= quit_)
    roster = (s_idx >= join) & (s_idx <= quit_ + 20)

    shape = (n_s, n_t)
    busy = 1 + 0.6 * tilt
    n_orders = rng.poisson(20 * busy) + 1
    fills_per_order = 1 + rng.gamma(2.0, 0.3, shape)
    avg_order_notional = scale * 20 * busy * rng.lognormal(0, 0.2, shape)
    qty = n_orders * avg_order_notional / 50.0
    fees = 0.002 * n_orders * avg_order_notional / 100
    add = rng.beta(4, 4, shape)
    hold_w = rng.gamma(3, 200, shape)
    cols = {
        "net_pnl": pnl, "fees": fees, "gross_pnl": pnl + fees, "n_orders": n_orders,
        "n_fills": np.round(n_orders * fills_per_order), "qty": qty,
        "notional": n_orders * avg_order_notional, "n_symbols": rng.poisson(3 * busy) + 1,
        "n_routes": rng.integers(1, 4, shape), "add_liq_rate": add, "remove_liq_rate": 1 - add,
        "first_hour_fill_rate": rng.beta(2, 6, shape),
        "last_hour_fill_rate": rng.beta(2, 6, shape) + 0.1 * tilt / (1 + tilt),
        "buy_rate": rng.beta(5, 5, shape), "fills_per_order": fills_per_order,
        "avg_order_duration_s": rng.gamma(2, 30, shape),
        "price_impact_bps": rng.gamma(2, 1.5, shape) * busy,
        "cost_per_share": rng.gamma(3, 0.001, shape), "eff_spread_bps": rng.gamma(3, 1.0, shape),
        "fee_rate_bps": rng.gamma(4, 0.5, shape), "n_round_trips": rng.poisson(8 * busy),
        "rt_win_rate": rng.beta(5, 5, shape),
        "intraday_max_drawdown": np.abs(pnl) * rng.uniform(0.3, 1.5, shape),
        "time_of_low_frac": rng.random(shape), "trades_after_loss": rng.poisson(2 * busy),
        "size_after_loss_ratio": rng.lognormal(0.2 * tilt, 0.2, shape),
        "reentry_time_after_loss_s": rng.gamma(2, 60, shape) / busy,
        "hold_time_losers_s": hold_w * rng.lognormal(0.3, 0.3, shape),
        "hold_time_winners_s": hold_w, "size_escalation": rng.normal(0.1 * tilt, 0.1, shape),
        "avg_order_notional": avg_order_notional,
        "max_position_notional": avg_order_notional * rng.uniform(2, 6, shape) * busy,
        "first_fill_frac": rng.beta(1, 8, shape), "last_fill_frac": 1 - rng.beta(1, 8, shape),
        "traded_symbols_abs_return": np.abs(rng.normal(0, 0.01, shape)) * regime[:, None],
        "traded_symbols_range": rng.gamma(3, 0.006, shape) * regime[:, None],
    }
    frame = pd.DataFrame({
        "trade_date": np.repeat(dates.date, n_t), "trader_id": np.tile(ids, n_s),
        "traded": traded.ravel(),
        **{k: np.asarray(v, dtype=float).ravel() for k, v in cols.items()},
    })
    frame.loc[~frame["traded"], AGGREGATES] = np.nan
    unreal = rng.normal(0, 50, n_s * n_t)
    frame["unrealized_delta"] = unreal
    frame["total_pnl"] = np.where(frame["traded"], frame["net_pnl"] + unreal, unreal)
    return frame[roster.ravel()].reset_index(drop=True)
