"""The bench helpers count trader-weeks and sessions the way the targets are stated."""

import datetime as dt

import pandas as pd

from risk_dagster.monitoring.config import MonitoringConfig
from risk_dagster.monitoring.measurement import detection_delay, false_alarm_rate, scan_drift
from risk_dagster_tests.factories import synthetic_features


def test_false_alarm_rate_counts_weeks_with_any_alarm():
    scan = pd.DataFrame({"trader_id": ["A"] * 4 + ["B"] * 2,
                         "check_date": [dt.date(2025, 3, d) for d in (10, 11, 17, 18, 10, 17)],
                         "week": ["W11", "W11", "W12", "W12", "W11", "W12"],
                         "drifted": [True, True, False, False, False, True]})
    fa = false_alarm_rate(scan)
    assert fa == {"n_trader_weeks": 4, "n_alarm_weeks": 2, "rate": 0.5, "check_rate": 0.5}


def test_detection_delay_counts_trader_sessions_from_the_change():
    days = list(pd.bdate_range("2025-03-03", periods=10).date)
    frame = pd.DataFrame({"trader_id": ["A"] * 10 + ["B"] * 10, "trade_date": days * 2})
    scan = pd.DataFrame({"trader_id": ["A", "A", "B"], "check_date": [days[1], days[6], days[2]],
                         "drifted": [True, True, False]})
    out = detection_delay(scan, frame, change_date=days[3], within=5)
    per = out["per_trader"].set_index("trader_id")
    assert per.loc["A", "delay_sessions"] == 4  # days[3..6]; the alarm before the change is ignored
    assert pd.isna(per.loc["B", "delay_sessions"])
    assert out["detected_within"] == 0.5


def test_scan_detects_large_shift_within_five_sessions():
    change = dt.date(2025, 1, 6)
    frame = synthetic_features(n_traders=4, n_sessions=275, seed=8, change_date=change,
                               shift_features=("f000", "f001", "f002"), shift_sd=4.0)
    feats = [c for c in frame if c.startswith("f")]
    ks5 = MonitoringConfig(current_windows=(5, 20))  # synthetic frames have no fingerprint
    scan = scan_drift(frame, feats, frame["trade_date"].iloc[249], ks5, first_check=change)
    out = detection_delay(scan, frame, change)
    assert out["n_affected"] == 4 and out["detected_within"] == 1.0
