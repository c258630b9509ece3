"""Retrain decisions: reasons, deterministic run keys, cooldown in sessions."""

import datetime as dt

import pandas as pd

from risk_dagster.monitoring.config import MonitoringConfig
from risk_dagster.monitoring.decay import DecayResult
from risk_dagster.monitoring.drift import DriftResult
from risk_dagster.monitoring.retrain import retrain_decisions, run_key, sessions_between


def _drift(trader: str, drifted: bool) -> DriftResult:
    return DriftResult(trader, drifted, "drift: f001 (5d, q=1e-05)" if drifted else "no drift", 5.0,
                       0.1, ["f001"] if drifted else [], float("nan"), False, 250, 20, pd.DataFrame())


def _decay(decayed: bool) -> DecayResult:
    return DecayResult(decayed, "decay: AUC 0.5 vs 0.75" if decayed else "no decay", 60, 8, 0.5,
                       0.1, 0.0, 0.1, 0.0, 3)


TODAY = dt.date(2025, 3, 14)  # a Friday, ISO week 11


def test_reasons_and_run_keys():
    drift = {"T0001": _drift("T0001", True), "T0002": _drift("T0002", False),
             "T0003": _drift("T0003", True)}
    decay = {"T0002": _decay(True), "T0003": _decay(True), "T0004": _decay(False)}
    out = retrain_decisions(drift, decay, {}, TODAY, MonitoringConfig())
    assert [(d.trader_id, d.reason) for d in out] == [("T0001", "drift"), ("T0002", "decay"),
                                                        ("T0003", "drift+decay")]
    assert out[0].run_key == "retrain:T0001:2025-W11:drift"
    assert "f001" in out[2].detail and "AUC" in out[2].detail
    # Same week, another day -> same keys (the sensor dedups); next week -> new keys.
    again = retrain_decisions(drift, decay, {}, dt.date(2025, 3, 10), MonitoringConfig())
    assert [d.run_key for d in again] == [d.run_key for d in out]
    assert run_key("T0001", dt.date(2025, 3, 17), "drift") == "retrain:T0001:2025-W12:drift"


def test_cooldown_counts_sessions_not_days():
    drift = {"T0001": _drift("T0001", True)}
    cfg = MonitoringConfig(cooldown_sessions=5)
    # 2025-03-07 (Fri) -> 2025-03-14 (Fri): 5 NYSE sessions -> allowed; 4 sessions -> blocked.
    assert sessions_between(dt.date(2025, 3, 7), TODAY) == 5
    assert len(retrain_decisions(drift, {}, {"T0001": dt.date(2025, 3, 7)}, TODAY, cfg)) == 1
    assert retrain_decisions(drift, {}, {"T0001": dt.date(2025, 3, 10)}, TODAY, cfg) == []
    # Over a holiday (Good Friday 2025-04-18) the 7 calendar days hold only 4 sessions.
    assert sessions_between(dt.date(2025, 4, 14), dt.date(2025, 4, 21)) == 4
    assert sessions_between(dt.date(2025, 4, 14), dt.date(2025, 4, 21), "24/7") == 7
