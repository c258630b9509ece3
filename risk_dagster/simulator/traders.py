"""The traders: fixed profiles (style, skill, size, proneness to tilt) and a hidden behavioural
state (tilt, winning/losing streaks, fatigue) updated after every session from its P&L.

The state known at a close sets the next day's behaviour: tilt (after large losses and loss
streaks) means more round trips, bigger orders, quicker re-entry and a worse edge;
overconfidence (after a winning streak) means bigger orders and a slightly worse edge; fatigue
(many sessions in a row) means an edge that decays faster late in the session.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from risk_dagster.simulator.config import InjectedChange

STYLES = ("scalper", "momentum", "swing")
_STYLE_P = (0.4, 0.4, 0.2)
_RT_RATE = np.array([16.0, 8.0, 5.0])  # round trips per day
_HOLD_S = np.array([60.0, 600.0, 2400.0])  # median holding time, seconds
_GAP_S = np.array([420.0, 1200.0, 2400.0])  # median pause between round trips, seconds
_NOTIONAL = np.array([30_000.0, 50_000.0, 80_000.0])  # median order notional, USD
_P_ADD = np.array([0.55, 0.35, 0.45])  # share of orders that add liquidity
_FILL_LAMBDA = np.array([1.0, 1.6, 2.4])  # extra fills per order (Poisson mean)

TILT_STATE, OVERCONFIDENT_STREAK, FATIGUE_SESSIONS = 0.35, 4, 15
LARGE_LOSS_QUANTILE, MIN_HISTORY = 0.10, 20


@dataclass
class DayBehaviour:
    """Per-row parameters of one trader-day (rows are traders, or traders x oracle draws)."""

    rt_rate: np.ndarray
    hold_s: np.ndarray
    gap_s: np.ndarray
    notional: np.ndarray
    edge: np.ndarray  # per round trip, in sd of the holding-period move
    fatigue: np.ndarray  # edge lost by the close (linear in time of day)
    p_add: np.ndarray
    fill_lambda: np.ndarray
    carry_p: np.ndarray  # probability of carrying the last round trip overnight


class Traders:
    """Profiles and hidden state of ``n`` traders over ``n_sessions`` sessions."""

    def __init__(self, n: int, n_sessions: int, n_symbols: int, rng: np.random.Generator):
        self.n = n
        self.style = rng.choice(3, size=n, p=_STYLE_P)
        self.rt_rate = _RT_RATE[self.style] * np.exp(rng.normal(0, 0.25, n))
        self.notional = _NOTIONAL[self.style] * np.exp(rng.normal(0, 0.5, n))
        skilled = rng.random(n) < 0.12
        self.edge = np.where(skilled, rng.normal(0.55, 0.05, n), rng.normal(0.28, 0.06, n))
        self.tilt_prone = rng.beta(2.0, 2.5, n)
        self.fatigue_sens = rng.uniform(0.0, 1.0, n)
        self.regime_sens = rng.uniform(-1.0, 1.0, n)
        self.p_off = rng.uniform(0.03, 0.12, n)
        self.symbols = rng.integers(0, n_symbols, (n, 5))
        late = rng.random(n) < 0.25
        self.join = np.where(late, rng.integers(0, max(int(n_sessions * 0.8), 1), n), 0)
        leaves = rng.random(n) < 0.25
        self.leave = np.where(leaves, self.join + 60 + (rng.random(n) * n_sessions).astype(int),
                              n_sessions)  # first session without the trader
        self.size_mult = np.ones(n)
        self.activity_mult = np.ones(n)
        # hidden state
        self.tilt = np.zeros(n)
        self.win_streak = np.zeros(n, dtype=int)
        self.loss_streak = np.zeros(n, dtype=int)
        self.consec = np.zeros(n, dtype=int)
        self.history = np.full((n, 64), np.nan)  # traded-day net P&L, compacted per trader
        self.n_history = np.zeros(n, dtype=int)

    def apply_change(self, change: InjectedChange, index: dict[str, int]) -> None:
        """A trader_behaviour change from today on."""
        rows = np.array([index[t] for t in change.trader_ids if t in index], dtype=int)
        if change.tilt_prone is not None:
            self.tilt_prone[rows] = change.tilt_prone
        self.size_mult[rows] *= change.size_mult
        self.activity_mult[rows] *= change.activity_mult
        self.edge[rows] += change.edge_shift

    def active(self, day: int) -> np.ndarray:
        """Traders in the firm at session ``day`` (bool)."""
        return (self.join <= day) & (day < self.leave)

    def state_labels(self) -> np.ndarray:
        """Latent state at the start of the day: tilt, overconfident, fatigued or calm."""
        return np.select(
            [self.tilt >= TILT_STATE, self.win_streak >= OVERCONFIDENT_STREAK,
             self.consec >= FATIGUE_SESSIONS], ["tilt", "overconfident", "fatigued"], "calm")

    def behaviour(self, rows: np.ndarray, volatile: np.ndarray) -> DayBehaviour:
        """Parameters of the day for trader ``rows`` given the day's regime (1 = volatile)."""
        tilt, st = self.tilt[rows], self.style[rows]
        conf = self.win_streak[rows] >= OVERCONFIDENT_STREAK
        vol_react = self.regime_sens[rows] * volatile
        fatigued = self.consec[rows] >= FATIGUE_SESSIONS
        return DayBehaviour(
            rt_rate=self.rt_rate[rows] * self.activity_mult[rows] * (1 + 1.5 * tilt)
            * np.where(conf, 1.15, 1.0) * (1 + 0.3 * vol_react),
            hold_s=_HOLD_S[st] * (1 - 0.3 * tilt),
            gap_s=_GAP_S[st] * (1 - 0.6 * tilt),
            notional=self.notional[rows] * self.size_mult[rows] * (1 + 1.5 * tilt)
            * np.where(conf, 1.3, 1.0),
            edge=self.edge[rows] - 0.2 * tilt - np.where(conf, 0.05, 0.0) + 0.05 * vol_react,
            fatigue=self.fatigue_sens[rows] * np.where(fatigued, 0.3, 0.1),
            p_add=_P_ADD[st] * (1 - 0.4 * tilt),
            fill_lambda=_FILL_LAMBDA[st],
            carry_p=np.where(st == 2, 0.5, 0.0),
        )

    def thresholds(self) -> np.ndarray:
        """Point-in-time large-loss threshold (USD, negative): the trader's expanding 10% quantile
        of traded-day net P&L, NaN with fewer than MIN_HISTORY traded days."""
        k = self.n_history
        width = max(int(k.max()), 1)
        srt = np.sort(self.history[:, :width], axis=1)  # NaN sorts last
        pos = LARGE_LOSS_QUANTILE * np.maximum(k - 1, 0)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, np.maximum(k - 1, 0))
        frac = pos - lo
        q = (np.take_along_axis(srt, lo[:, None], 1)[:, 0] * (1 - frac)
             + np.take_along_axis(srt, hi[:, None], 1)[:, 0] * frac)
        return np.where(k >= MIN_HISTORY, q, np.nan)

    def update(self, net: np.ndarray, traded: np.ndarray, threshold: np.ndarray) -> None:
        """Advance the hidden state after a session: ``net`` USD per trader, ``traded`` bool,
        ``threshold`` the day's large-loss threshold (USD)."""
        large = traded & (net < threshold)
        lost, won = traded & (net < 0), traded & (net > 0)
        self.loss_streak = np.where(lost, self.loss_streak + 1, np.where(traded, 0, self.loss_streak))
        self.win_streak = np.where(won, self.win_streak + 1, np.where(traded, 0, self.win_streak))
        # a streak shocks once, when it reaches 3: shocking every day of a streak made tilt
        # absorbing for losing traders (a tilted trader loses more, which kept it tilted)
        shock = self.tilt_prone * (0.7 * large + 0.2 * (self.loss_streak == 3) + 0.1 * lost)
        self.tilt = np.clip(np.where(traded, 0.5, 0.7) * self.tilt + shock, 0.0, 1.0)
        self.consec = np.where(traded, self.consec + 1, 0)
        if self.n_history.max(initial=0) + 1 >= self.history.shape[1]:
            self.history = np.concatenate([self.history, np.full_like(self.history, np.nan)], 1)
        rows = np.flatnonzero(traded)
        self.history[rows, self.n_history[rows]] = net[rows]
        self.n_history[rows] += 1
