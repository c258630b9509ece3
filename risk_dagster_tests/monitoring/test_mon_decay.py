"""Live performance decay: a collapsed AUC is caught, noise on a few labels is not."""

import math

import numpy as np
import pandas as pd
import pytest

from risk_dagster.monitoring.config import MonitoringConfig
from risk_dagster.monitoring.decay import hanley_mcneil_se, performance_decay

CFG = MonitoringConfig()
TRAINING = {"auc": 0.75, "brier": 0.08, "rank_ic": -0.2, "cf_benefit": 30.0, "flag_threshold": 0.3}


def _live(seed: int, informative: bool, n: int = 60, base: float = 0.12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=n) < base).astype(int)
    p = np.clip(0.08 + (0.35 * y if informative else 0.0) + rng.normal(0, 0.08, n), 0.01, 0.99)
    pnl = np.where(y == 1, -1000.0, 200.0) + rng.normal(0, 50, n)
    return pd.DataFrame({"trade_date": pd.bdate_range("2025-01-02", periods=n).date,
                         "p_large_loss": p, "large_loss": y, "next_net_pnl": pnl,
                         "label_status": "complete"})


def test_collapsed_auc_is_decay():
    res = performance_decay(_live(1, informative=False), TRAINING, CFG)
    assert res.n == 60 and res.n_positive >= CFG.min_decay_positives
    assert res.auc < 0.65 and res.decayed and "AUC" in res.reason


def test_working_model_is_not_decay_and_benefit_is_positive():
    res = performance_decay(_live(1, informative=True), TRAINING, CFG)
    assert res.auc > 0.9 and not res.decayed and res.reason.startswith("no decay")
    assert res.rank_ic < -0.15 and res.cf_benefit > 0 and res.n_flagged > 0


def test_too_few_labels_gives_no_verdict():
    live = _live(1, informative=False)
    live.loc[20:, "label_status"] = "pending"
    res = performance_decay(live, TRAINING, CFG)
    assert res.n == 20 and not res.decayed and res.reason.startswith("not enough labels")


def test_counterfactual_benefit_by_hand_and_window():
    live = pd.DataFrame({"trade_date": pd.bdate_range("2025-01-02", periods=4).date,
                         "p_large_loss": [0.5, 0.1, 0.4, 0.2], "large_loss": [1, 0, 0, 0],
                         "next_net_pnl": [-1000.0, 100.0, 300.0, 50.0]})
    res = performance_decay(live, TRAINING, CFG)
    # flagged rows 0 and 2: saving 0.5 * (1000 - 300) = 350 USD over 4 days
    assert res.n_flagged == 2 and res.cf_benefit == pytest.approx(350.0 / 4)
    assert res.brier == pytest.approx(np.mean([0.25, 0.01, 0.16, 0.04]))
    window = performance_decay(live, TRAINING, MonitoringConfig(decay_window_rows=2))
    assert window.n == 2 and window.n_flagged == 1  # only the latest two rows
    assert math.isnan(performance_decay(live, {"auc": 0.7}, CFG).cf_benefit)


def test_brier_rise_is_decay_and_auc_noise_is_not():
    live = _live(3, informative=True)
    live["p_large_loss"] = np.clip(live["p_large_loss"] + 0.5, 0, 0.99)  # ranks fine, miscalibrated
    res = performance_decay(live, TRAINING, CFG)
    assert res.decayed and "Brier" in res.reason and "AUC" not in res.reason
    # An AUC 0.12 below training but with a wide interval (few positives) is not decay.
    assert hanley_mcneil_se(0.63, 5, 55) > 0.07
