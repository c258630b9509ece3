"""Symbols' prices: daily GARCH(1,1) volatility, a Markov calm/volatile regime, Student-t day
scales (fat tails) and an intraday arithmetic Brownian path with U-shaped volatility.

Prices are stationary: the overnight gap has a known drift ``expected_gap`` that pulls each
symbol's log price back towards its starting level (half-life ~70 sessions). Without it the median
price fell by ~40% over two years (a martingale in dollars drifts down in log terms), so per-share
fees grew from 2.4 to as much as 4.2 bps of notional and the simulated firm lost more every quarter.

Given what is known at the previous close (closes, GARCH variance, regime), a day's randomness is:
the regime (Markov step), a market-wide and a per-symbol scale ``t = sqrt((nu-2)/chi2_nu)`` (so the
day's return is Student-t), the overnight gap and the path. Given the day scale ``s`` (fraction),
the mid-price move between two grid times is exactly Normal(0, (P_ref * s)^2 * (W2 - W1)), where
``P_ref`` is the previous close and ``W`` the cumulative intraday variance fraction. The oracle
relies on that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from risk_dagster.simulator.config import SimulationConfig

GRID_SECONDS = 5
T_DOF = 5.0
P_CALM_TO_VOLATILE, P_VOLATILE_TO_CALM = 0.03, 0.10
VOLATILE_MULT = 1.8
GARCH_OMEGA, GARCH_ALPHA, GARCH_BETA = 0.04, 0.08, 0.88
GAP_FRACTION = 0.25  # overnight gap sd as a fraction of the day scale
MEAN_REVERSION = 0.01  # share of the log distance to the anchor price closed each night
MIN_PRICE = 0.01


def intraday_variance_curve(session_seconds: float, amplitude: float) -> np.ndarray:
    """Cumulative variance fraction ``W`` on a GRID_SECONDS grid (G+1 points, W[0]=0, W[-1]=1)
    with intensity ``1 + amplitude * (3 (2f-1)^2 - 1)``: high at the open and close (U shape)."""
    n = max(int(session_seconds // GRID_SECONDS), 2)
    f = (np.arange(n) + 0.5) / n
    u = 1.0 + amplitude * (3.0 * (2.0 * f - 1.0) ** 2 - 1.0)
    w = np.concatenate([[0.0], np.cumsum(u)])
    return w / w[-1]


@dataclass
class MarketDay:
    """What the market did on one session (per symbol arrays of length n_symbols)."""

    regime: int  # 0 calm, 1 volatile
    p_ref: np.ndarray  # previous close, USD
    scale: np.ndarray  # day scale s (fraction)
    open: np.ndarray
    mids: np.ndarray  # (n_symbols, G+1) mid prices on the grid, USD
    close: np.ndarray
    curve: np.ndarray  # cumulative variance fraction W (G+1,)


class Market:
    """The symbols' state, advanced one session at a time."""

    def __init__(self, config: SimulationConfig, rng: np.random.Generator, base_vol: float):
        n = config.n_symbols
        self.n_symbols = n
        self.close = np.clip(np.exp(rng.normal(np.log(40.0), 0.8, n)), 3.0, 600.0).round(2)
        self.anchor = self.close.copy()
        self.vol_mult = np.exp(rng.normal(0.0, 0.3, n))
        self.base_vol = base_vol
        self.h = 1.0  # GARCH variance multiplier for the next session
        self.regime = 0

    def regime_probs(self, forced: bool) -> float:
        """Probability that the next session is volatile, known at the previous close."""
        if forced:
            return 1.0
        return 1.0 - P_VOLATILE_TO_CALM if self.regime == 1 else P_CALM_TO_VOLATILE

    def expected_gap(self) -> np.ndarray:
        """Mean overnight gap (fraction of the previous close) per symbol, known at the close."""
        return -MEAN_REVERSION * np.log(self.close / self.anchor)

    def sigma(self, regime: np.ndarray, vol_mult: float) -> np.ndarray:
        """Conditional daily volatility (fraction) per (draw, symbol) given the regime draw."""
        mult = np.where(np.asarray(regime) == 1, VOLATILE_MULT, 1.0)[:, None]
        return self.base_vol * self.vol_mult[None, :] * np.sqrt(self.h) * mult * vol_mult

    def draw_scales(self, rng: np.random.Generator, n_draws: int, forced: bool,
                    vol_mult: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Regime (n_draws,), conditional sigma and day scale s (n_draws, n_symbols)."""
        regime = (rng.random(n_draws) < self.regime_probs(forced)).astype(np.int8)
        sigma = self.sigma(regime, vol_mult)
        t_mkt = np.sqrt((T_DOF - 2.0) / rng.chisquare(T_DOF, (n_draws, 1)))
        t_sym = np.sqrt((T_DOF - 2.0) / rng.chisquare(T_DOF, (n_draws, self.n_symbols)))
        return regime, sigma, sigma * t_mkt * t_sym

    def step(self, rng: np.random.Generator, curve: np.ndarray, forced: bool,
             vol_mult: float) -> MarketDay:
        """Simulate one session and advance the state (regime, GARCH variance, closes)."""
        regime, sigma, scale = self.draw_scales(rng, 1, forced, vol_mult)
        sigma, scale = sigma[0], scale[0]
        p_ref = self.close.copy()
        gap = GAP_FRACTION * scale * rng.standard_normal(self.n_symbols)
        opens = p_ref * (1.0 + self.expected_gap() + gap)
        steps = rng.standard_normal((self.n_symbols, curve.size - 1)) * np.sqrt(np.diff(curve))
        path = np.concatenate([np.zeros((self.n_symbols, 1)), np.cumsum(steps, axis=1)], axis=1)
        mids = np.maximum(opens[:, None] + (p_ref * scale)[:, None] * path, MIN_PRICE)
        close = mids[:, -1].copy()
        z2 = np.mean(np.log(close / p_ref) ** 2 / sigma**2)
        self.h = GARCH_OMEGA + GARCH_ALPHA * z2 / (1.0 + GAP_FRACTION**2) + GARCH_BETA * self.h
        self.regime = int(regime[0])
        self.close = close
        return MarketDay(int(regime[0]), p_ref, scale, opens, mids, close, curve)
