"""Drift checks: calibrated, corrected, and still able to see a real change."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from risk_dagster.monitoring.config import MonitoringConfig
from risk_dagster.monitoring.drift import calibrate, drift_scores, reference_window
from risk_dagster.monitoring.measurement import false_alarm_rate, scan_drift
from risk_dagster_tests.factories import synthetic_features

# The KS machinery at both window lengths: production runs KS on 20 rows and leaves 5-row
# windows to the behaviour shift test, which the synthetic frames (no fingerprint) do not have.
CFG = MonitoringConfig(current_windows=(5, 20))


def _split(frame, trader="T0001", n_ref=250):
    rows = frame[frame["trader_id"] == trader].reset_index(drop=True)
    return rows.iloc[:n_ref], rows.iloc[n_ref:]


def test_calibration_inflates_persistent_features_only():
    frame = synthetic_features(n_traders=1, n_sessions=250, n_features=5, seed=3)
    cal = calibrate(frame, [f"f{j:03d}" for j in range(5)], CFG)
    assert cal.n_pseudo[5] >= 40
    assert cal.factor("f000", 20) < 1.5  # i.i.d.
    assert cal.factor("f004", 20) > 3.0  # AR(1) 0.97: 20 rows are ~one observation
    assert cal.factor("f004", 20) > cal.factor("f002", 20)


def test_thirty_independent_null_features_are_corrected_for_multiplicity():
    rng = np.random.default_rng(11)
    cols = [f"x{j}" for j in range(30)]
    raw_any, alarms, n = 0, 0, 100
    ref = pd.DataFrame(rng.normal(size=(250, 30)), columns=cols)
    cal = calibrate(ref, cols, CFG)
    for _ in range(n):
        cur = pd.DataFrame(rng.normal(size=(20, 30)), columns=cols)
        res = drift_scores(ref, cur, cols, CFG, calibration=cal, engine="scipy")
        raw_any += bool((res.table.loc[res.table["window"] == 20, "p_value"] <= 0.05).any())
        alarms += res.drifted
    # Uncorrected, some feature "drifts" in ~1 - 0.95**30 = 79% of windows; corrected, almost none.
    assert raw_any / n > 0.6
    assert alarms / n <= 0.03


def test_stationary_autocorrelated_firm_rarely_alarms():
    frame = synthetic_features(n_traders=8, n_sessions=350, seed=21)
    feats = [c for c in frame if c.startswith("f")]
    scan = scan_drift(frame, feats, frame["trade_date"].iloc[249], CFG, check_every=5)
    fa = false_alarm_rate(scan)
    assert fa["n_trader_weeks"] == 8 * 20
    assert fa["rate"] <= 0.05


def test_without_calibration_persistent_features_alarm_often():
    """The same stationary firm with calibration switched off (inflation fixed at 1)."""
    frame = synthetic_features(n_traders=4, n_sessions=300, seed=21)
    feats = [c for c in frame if c.startswith("f")]
    raw = MonitoringConfig(max_inflation=1.0)
    scan = scan_drift(frame, feats, frame["trade_date"].iloc[249], raw, check_every=5)
    assert scan["drifted"].mean() > 0.3


def test_clear_shift_is_detected_and_named():
    change = dt.date(2025, 1, 6)
    frame = synthetic_features(n_traders=1, n_sessions=300, seed=4, change_date=change,
                               shift_features=("f000", "f001", "f005"), shift_sd=3.0)
    ref, rest = _split(frame)
    feats = [c for c in frame if c.startswith("f")]
    cur = rest[rest["trade_date"] < change + dt.timedelta(days=7)]  # 5 sessions after the change
    res = drift_scores(ref, cur, feats, CFG, engine="scipy")
    assert res.drifted and res.score >= -np.log10(CFG.alpha)
    assert {"f000", "f005"} <= set(res.drifted_features) <= {"f000", "f001", "f005"}
    assert res.reason.startswith("drift: ") and "f000" in res.reason
    assert res.drift_share == pytest.approx(len(res.drifted_features) / 30)


def test_prediction_drift_reported_and_too_few_rows_not_tested():
    frame = synthetic_features(n_traders=1, n_sessions=270, seed=6)
    ref, cur = _split(frame)
    cur = cur.assign(p_large_loss=0.9)
    res = drift_scores(ref, cur, ["f000", "f002"], CFG, engine="scipy")
    assert res.prediction_drifted and res.prediction_pvalue < 1e-6 and res.drifted_features == []
    short = drift_scores(ref, cur.head(3), ["f000"], CFG, engine="scipy")
    assert not short.drifted and short.reason.startswith("not tested")


def test_missing_feature_raises():
    frame = synthetic_features(n_traders=1, n_sessions=260, n_features=2, seed=1)
    ref, cur = _split(frame)
    with pytest.raises(KeyError):
        drift_scores(ref, cur, ["f000", "nope"], CFG, engine="scipy")


def test_reference_skips_the_warm_up_and_a_short_one_is_not_tested():
    frame = synthetic_features(n_traders=1, n_sessions=400, n_features=3, seed=9)
    end = frame["trade_date"].iloc[349]
    ref = reference_window(frame, end, CFG)
    assert ref["trade_date"].iloc[0] == frame["trade_date"].iloc[350 - CFG.reference_rows]
    assert ref["trade_date"].iloc[-1] == end
    early = frame["trade_date"].iloc[CFG.warmup_rows + 40]  # joined ~100 sessions before
    short = reference_window(frame, early, CFG)
    assert len(short) == 41 and short["trade_date"].iloc[0] == frame["trade_date"].iloc[CFG.warmup_rows]
    res = drift_scores(short, frame.iloc[104:130], ["f000"], CFG, engine="scipy")
    assert not res.drifted and res.reason.startswith("not tested: 41 reference rows")
    # 100 rows pass every per-column minimum but are too few to stand for the trader
    mid = reference_window(frame, frame["trade_date"].iloc[CFG.warmup_rows + 99], CFG)
    shifted = frame.iloc[CFG.warmup_rows + 100:].assign(f000=lambda f: f["f000"] + 10)
    res = drift_scores(mid, shifted, ["f000"], CFG, engine="scipy")
    assert len(mid) == 100 and res.table.empty and not res.drifted
    assert res.reason.startswith("not tested: 100 reference rows")
    assert drift_scores(frame.iloc[:250], shifted, ["f000"], CFG, engine="scipy").drifted


def test_a_long_window_feature_enters_the_reference_only_once_full():
    from risk_dagster.monitoring.drift_report import feature_windows

    assert feature_windows(["pnl_mean_63d", "pnl_vol_21d", "net_pnl_d0"]) == \
        {"pnl_mean_63d": 63, "pnl_vol_21d": 21, "net_pnl_d0": 0}
    frame = synthetic_features(n_traders=1, n_sessions=200, n_features=2, seed=5)
    ref = reference_window(frame, frame["trade_date"].iloc[149], CFG, {"f000": 63, "f001": 5})
    assert ref["trade_date"].iloc[0] == frame["trade_date"].iloc[CFG.warmup_rows]
    assert ref["f000"].isna().sum() == 63 - CFG.warmup_rows and ref["f000"].iloc[63 - CFG.warmup_rows:].notna().all()
    assert ref["f001"].notna().all()  # shorter than the warm-up: nothing more to hide
    assert frame["f000"].notna().all()  # the caller's frame is untouched


def test_after_a_drift_retraining_the_reference_restarts():
    """A trader retrained for drift is compared with its new self only, once there is enough of
    it: not with months of its old behaviour (which would alarm at every cooldown)."""
    change = dt.date(2025, 1, 6)
    frame = synthetic_features(n_traders=1, n_sessions=600, n_features=2, seed=12,
                               change_date=change, shift_features=("f000",), shift_sd=3.0)
    alarm = frame.loc[frame["trade_date"] >= change, "trade_date"].iloc[3]
    days = frame["trade_date"]
    retrained_end = days[days > alarm].iloc[30]  # the weekly retrainings moved the cutoff on
    early = reference_window(frame, retrained_end, CFG, since=alarm)
    assert len(early) == 31 and early["trade_date"].min() > alarm
    res = drift_scores(early, frame[frame["trade_date"] > retrained_end], ["f000"], CFG,
                       engine="scipy")
    assert not res.drifted and res.reason.startswith("not tested: 31 reference rows")
    later = days[days > alarm].iloc[200]
    ref = reference_window(frame, later, CFG, since=alarm)
    assert len(ref) == 201 and ref["trade_date"].min() > alarm
    cur = frame[frame["trade_date"] > later]
    assert not drift_scores(ref, cur, ["f000"], CFG, engine="scipy").drifted
    old_self = reference_window(frame, later, CFG)  # without the restart: old behaviour inside
    assert old_self["trade_date"].min() < change


def test_counts_with_few_distinct_values_are_not_ks_tested():
    """A rolling count (here 0..3) is left out of the KS tests, a continuous feature is not;
    with ks_min_distinct=0 both are tested."""
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({"count": rng.integers(0, 4, 250).astype(float),
                        "level": rng.normal(size=250)})
    cur = pd.DataFrame({"count": np.full(20, 3.0), "level": rng.normal(size=20)})
    res = drift_scores(ref, cur, ["count", "level"], CFG, engine="scipy")
    assert set(res.table["column"]) == {"level"}
    every = drift_scores(ref, cur, ["count", "level"], MonitoringConfig(
        current_windows=(5, 20), ks_min_distinct=0), engine="scipy")
    assert set(every.table["column"]) == {"count", "level"} and every.drifted
