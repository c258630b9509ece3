"""Shared synthetic data and (expensive) training runs for the model tests, built once."""

from __future__ import annotations

import pytest

from risk_dagster.models import TrainingConfig, train_candidates
from risk_dagster_tests.factories import make_synthetic

# Small budgets keep the suite fast; the defaults are measured by bench.train_synthetic.
FAST = TrainingConfig(n_folds=3, n_trials=6, pooled_n_trials=4, max_rounds=150,
                      early_stopping_rounds=15, min_trader_rows=150, min_trader_positives=15,
                      pruner_startup_trials=3, seed=11)


@pytest.fixture(scope="session")
def fast_cfg() -> TrainingConfig:
    return FAST


@pytest.fixture(scope="session")
def synthetic():
    return make_synthetic(n_traders=3, n_days=500, n_features=20, seed=3)


@pytest.fixture(scope="session")
def trader_result(synthetic):
    features, labels = synthetic
    return train_candidates(features, labels, "T0001", FAST)


@pytest.fixture(scope="session")
def pooled_result(synthetic):
    features, labels = synthetic
    return train_candidates(features, labels, None, FAST)
