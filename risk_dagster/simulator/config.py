"""Configuration of the simulated prop firm and the batch of tables it produces."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa


# Bump when a change to the simulator alters what a seed produces, so that stored firms built
# by an earlier version are not taken for current ones (bench/firm_lake.py records it).
# 2: mean-reverting prices and a loss streak that shocks tilt once.
SIMULATOR_VERSION = 2


@dataclass(frozen=True)
class InjectedChange:
    """A structural change from ``date`` on, to test drift detection.

    kind ``trader_behaviour``: the listed traders change from ``date``: their tilt proneness is set
    to ``tilt_prone`` (0..1, None keeps it), their order size is multiplied by ``size_mult``, their
    activity (round trips per day) by ``activity_mult`` and their per-trade edge shifts by
    ``edge_shift`` (in units of the price move's standard deviation over the holding period).
    kind ``market_regime``: the market is volatile from ``date`` (for ``duration_sessions``
    sessions, None = until the end) and its volatility is further multiplied by ``vol_mult``.
    """

    date: dt.date
    kind: Literal["trader_behaviour", "market_regime"]
    trader_ids: tuple[str, ...] = ()
    tilt_prone: float | None = 0.9
    size_mult: float = 1.8
    activity_mult: float = 1.5
    edge_shift: float = -0.1
    vol_mult: float = 1.0
    duration_sessions: int | None = None


@dataclass(frozen=True)
class SimulationConfig:
    """The simulated firm: ``n_traders`` traders from ``start`` to ``end`` on ``calendar``
    (an exchange-calendars code or ``24/7``), trading ``n_symbols`` symbols.

    ``oracle_draws`` is the number of Monte Carlo replicates of a trader-day used for the ground
    truth ``p_large_loss``; it never changes fills or totals.
    """

    n_traders: int = 40
    start: dt.date = dt.date(2024, 1, 2)
    end: dt.date = dt.date(2025, 12, 31)
    seed: int = 7
    calendar: str = "XNYS"
    n_symbols: int = 30
    changes: tuple[InjectedChange, ...] = ()
    oracle_draws: int = 32


@dataclass
class SimBatch:
    """FILLS, TOTALS and GROUND_TRUTH tables (``risk_dagster.core.schemas``) of some sessions."""

    fills: pa.Table
    totals: pa.Table
    truth: pa.Table


def trader_ids(config: SimulationConfig) -> list[str]:
    """The firm's trader ids, ``T0001`` ... ``T{n_traders:04d}``."""
    return [f"T{i + 1:04d}" for i in range(config.n_traders)]


def rng_for(config: SimulationConfig, *key: int) -> np.random.Generator:
    """An independent random stream for ``key`` (e.g. (day index, purpose)): a stream never
    depends on how many numbers another stream drew, so a date's data is reproducible."""
    return np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=key))
