"""Every threshold of the morning recommendations, in one typed, frozen configuration.

The ladder of levels, from least to most strict, is the one retail/prop risk platforms (DAS,
Sterling) expose: ``normal`` -> ``warn`` -> ``reduce`` -> ``close-only`` -> ``halt``.
The model proposes a level from its calibrated probability of a large-loss day; hard rules can only
raise it. Money is USD, shares of capital are fractions (0.05 = 5%).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

LEVELS: tuple[str, ...] = ("normal", "warn", "reduce", "close-only", "halt")
LEVEL_RANK: Mapping[str, int] = MappingProxyType({lvl: i for i, lvl in enumerate(LEVELS)})


def stricter(a: str, b: str) -> str:
    """The stricter of two ladder levels."""
    return a if LEVEL_RANK[a] >= LEVEL_RANK[b] else b


@dataclass(frozen=True)
class BaselineWeights:
    """The transparent rules baseline used when the model or the data are stale.

    Probability of a large-loss day = ``base_p`` + the increments below, clipped to [0, ``max_p``].
    Each increment is also that feature's "contribution", so the baseline explains itself with the
    same plain-word reasons as the model.
    """

    base_p: float = 0.10  # the label is the trader's own 10% quantile, so 10% is the prior
    per_streak_day: float = 0.03  # per losing day in a row beyond the first, up to 5 days
    streak_cap_days: int = 5
    per_large_loss_5d: float = 0.08  # per large-loss day in the last 5 sessions
    drawdown_vols: float = 2.0  # drawdown_21d above this many daily P&L sd ...
    drawdown_step: float = 0.08  # ... adds this
    activity_after_loss_ratio: float = 2.0  # trading this many x usual fills after a losing day ...
    activity_after_loss_step: float = 0.06  # ... adds this
    size_ratio: float = 1.5  # average order size this many x usual ...
    size_step: float = 0.05  # ... adds this
    recent_large_loss_days: int = 2  # a large loss within this many sessions ...
    recent_large_loss_step: float = 0.04  # ... adds this
    var_z: float = 1.645  # var_05 = -var_z x pnl_vol_21d (normal 5% quantile)
    max_p: float = 0.95


@dataclass(frozen=True)
class RecommendationConfig:
    """Thresholds of the risk ladder, the hard rules, the limits and the freshness checks.

    Capital
        default_capital_usd: capital allocated to a trader unless ``capital_by_trader`` says
            otherwise (USD).
        capital_by_trader: per-trader overrides of the allocated capital (trader_id -> USD).
        firm_capital_usd: the firm's capital (USD); ``None`` = the sum of the allocated capital of
            the traders being scored.
    Hard rules (they only ever make a level stricter)
        kill_switch_share: last-day net loss above this share of allocated capital -> ``halt``.
        kill_switch_usd: last-day net loss above this USD amount -> ``halt`` (``None`` = off).
        firm_loss_share: firm net loss on the last session above this share of firm capital ->
            every trader at least ``reduce``.
        sharpe_window_sessions, sharpe_min, sharpe_min_days, periods_per_year: annualised Sharpe of
            daily net P&L over the last 30 sessions (6 weeks) below ``sharpe_min`` -> ``review``
            flag and at least ``warn``; needs ``sharpe_min_days`` traded days.
        loss_streak_reduce: this many losing traded days in a row -> at least ``reduce``.
    Ladder from the calibrated probability of a large-loss day (p_large_loss)
        p_warn, p_reduce, p_close_only: lower edges of the bands; ``p_halt`` likewise, ``None``
            means the model alone never halts a trader (only the kill switch does).
        size_multiplier: share of the usual size allowed at each level (0 = no new risk).
    Limits
        loss_limit_var_multiple, loss_limit_floor_share, loss_limit_cap_share: the daily loss
            limit is clip(|var_05| x multiple, floor share x capital, cap share x capital) (USD);
            when var_05 is unknown it is the cap.
        loss_limit_factor: the limit is further scaled by this factor at each level.
        max_position_leverage: max position notional = capital x leverage x size multiplier (USD).
    History
        history_sessions: sessions of daily P&L the rules read (6-week Sharpe, loss streaks).
    Freshness
        max_model_age_days: a model trained more than this many calendar days ago is stale.
        max_data_lag_sessions: sessions missing between the latest input and today before the data
            count as stale (0 = the input must be the previous session).
        stale_data_level: minimum level of a trader scored on stale data (their last loss is
            unknown, so the kill switch cannot see it).
        block_publish_data_lag_sessions: beyond this many missing sessions the publish check fails.
    """

    default_capital_usd: float = 100_000.0
    capital_by_trader: Mapping[str, float] = field(default_factory=dict)
    firm_capital_usd: float | None = None

    kill_switch_share: float = 0.05
    kill_switch_usd: float | None = None
    firm_loss_share: float = 0.03
    sharpe_window_sessions: int = 30
    sharpe_min: float = 0.5
    sharpe_min_days: int = 10
    periods_per_year: int = 252
    loss_streak_reduce: int = 4

    p_warn: float = 0.20
    p_reduce: float = 0.30
    p_close_only: float = 0.45
    p_halt: float | None = None
    size_multiplier: Mapping[str, float] = field(default_factory=lambda: {
        "normal": 1.0, "warn": 1.0, "reduce": 0.5, "close-only": 0.0, "halt": 0.0})

    loss_limit_var_multiple: float = 2.0
    loss_limit_floor_share: float = 0.005
    loss_limit_cap_share: float = 0.03
    loss_limit_factor: Mapping[str, float] = field(default_factory=lambda: {
        "normal": 1.0, "warn": 1.0, "reduce": 0.5, "close-only": 0.5, "halt": 0.0})
    max_position_leverage: float = 2.0

    history_sessions: int = 60

    max_model_age_days: int = 35
    max_data_lag_sessions: int = 0
    stale_data_level: str = "warn"
    block_publish_data_lag_sessions: int = 5

    baseline: BaselineWeights = field(default_factory=BaselineWeights)

    def __post_init__(self) -> None:
        # Read-only copies so a shared config cannot be mutated behind a run's back.
        object.__setattr__(self, "capital_by_trader", MappingProxyType(dict(self.capital_by_trader)))
        object.__setattr__(self, "size_multiplier", MappingProxyType(dict(self.size_multiplier)))
        object.__setattr__(self, "loss_limit_factor", MappingProxyType(dict(self.loss_limit_factor)))
        self._validate()

    def _validate(self) -> None:
        for name in ("size_multiplier", "loss_limit_factor"):
            table = getattr(self, name)
            if set(table) != set(LEVELS) or not all(0.0 <= v <= 1.0 for v in table.values()):
                raise ValueError(f"{name} needs a value in [0, 1] for each of {LEVELS}")
        bands = [self.p_warn, self.p_reduce, self.p_close_only] + (
            [self.p_halt] if self.p_halt is not None else [])
        if any(not 0.0 < b <= 1.0 for b in bands) or bands != sorted(bands):
            raise ValueError(f"probability bands must be increasing in (0, 1]: {bands}")
        if self.stale_data_level not in LEVEL_RANK:
            raise ValueError(f"unknown level {self.stale_data_level!r}")
        capitals = [self.default_capital_usd, *self.capital_by_trader.values()]
        if self.firm_capital_usd is not None:
            capitals.append(self.firm_capital_usd)
        if not all(math.isfinite(c) and c > 0 for c in capitals):
            raise ValueError("capital amounts must be positive USD")
        if not 0.0 < self.loss_limit_floor_share <= self.loss_limit_cap_share:
            raise ValueError("need 0 < loss_limit_floor_share <= loss_limit_cap_share")

    # -- derived values ------------------------------------------------------------------------
    def capital_for(self, trader_id: str) -> float:
        """Allocated capital of ``trader_id`` (USD)."""
        return float(self.capital_by_trader.get(trader_id, self.default_capital_usd))

    def firm_capital(self, trader_ids: list[str]) -> float:
        """Firm capital (USD): the configured amount, or the sum over ``trader_ids``."""
        if self.firm_capital_usd is not None:
            return float(self.firm_capital_usd)
        return float(sum(self.capital_for(t) for t in trader_ids))

    def level_for_probability(self, p: float) -> str:
        """The ladder level the probability bands give to ``p`` (NaN -> ``normal``)."""
        level = "normal"
        edges = (("warn", self.p_warn), ("reduce", self.p_reduce),
                 ("close-only", self.p_close_only), ("halt", self.p_halt))
        for name, edge in edges:
            if edge is not None and p >= edge:
                level = name
        return level

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Every threshold as plain JSON-safe values (for the audit record)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Mapping):
                value = dict(value)
            elif dataclasses.is_dataclass(value):
                value = dataclasses.asdict(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> RecommendationConfig:
        """The inverse of :meth:`to_dict`; unknown keys raise ``TypeError``."""
        kwargs = dict(values)
        if isinstance(kwargs.get("baseline"), Mapping):
            kwargs["baseline"] = BaselineWeights(**kwargs["baseline"])
        return cls(**kwargs)
