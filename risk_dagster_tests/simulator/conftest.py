import datetime as dt

import pytest

from risk_dagster.simulator import SimulationConfig, simulate


@pytest.fixture(scope="session")
def small_config() -> SimulationConfig:
    return SimulationConfig(n_traders=8, start=dt.date(2024, 1, 2), end=dt.date(2024, 2, 9),
                            n_symbols=10, seed=3)


@pytest.fixture(scope="session")
def small(small_config):
    b = simulate(small_config)
    return b.fills.to_pandas(), b.totals.to_pandas(), b.truth.to_pandas()


@pytest.fixture(scope="session")
def firm():
    """A mid-sized firm over half a year, for statistical properties."""
    cfg = SimulationConfig(n_traders=30, start=dt.date(2024, 1, 2), end=dt.date(2024, 6, 28), seed=11)
    b = simulate(cfg)
    return b.fills.to_pandas(), b.totals.to_pandas(), b.truth.to_pandas()
