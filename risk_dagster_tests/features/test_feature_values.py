"""Feature values on hand-made panels, checked against numbers worked out by hand or by a
direct (slow, obvious) re-computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.testing import assert_allclose, assert_array_equal

from risk_dagster.features import build_features, large_loss_thresholds
from risk_dagster_tests.features.conftest import hand_panel

NAN = np.nan
PNL = [100, -50, None, -30, 200, -300, 40, -20]
FILLS = [10, 10, 10, 10, 10, 10, 30, 10]


def test_performance_features_by_hand():
    f = build_features(hand_panel(PNL, FILLS))
    assert_array_equal(f["net_pnl_d0"], [100, -50, NAN, -30, 200, -300, 40, -20])
    assert_array_equal(f["traded_d0"], [1, 1, 0, 1, 1, 1, 1, 1])
    # a non-traded day neither breaks nor extends a streak
    assert_array_equal(f["loss_streak"], [0, 1, 1, 2, 0, 1, 0, 1])
    assert_array_equal(f["win_streak"], [1, 0, 0, 0, 1, 0, 1, 0])
    # cumulative P&L 100 50 50 20 220 -80 -40 -60, peak including the starting level 0
    assert_array_equal(f["drawdown_21d"], [0, 50, 50, 80, 0, 300, 260, 280])
    assert_array_equal(f["sessions_since_trade"], [0, 0, 1, 0, 0, 0, 0, 0])
    assert_array_equal(f["cum_pnl_5d"], [100, 50, 50, 20, 220, -180, -90, -110])


def test_vol_and_activity_ratio_by_hand():
    f = build_features(hand_panel(PNL, FILLS))
    traded = [100, -50, -30, 200, -300, 40, -20]
    vol = f["pnl_vol_21d"].to_numpy()
    assert np.isnan(vol[:5]).all()  # fewer than 5 traded days
    assert_allclose(vol[5], np.std(traded[:5], ddof=1))
    assert_allclose(vol[7], np.std(traded, ddof=1))
    ratio = f["activity_ratio_21d"].to_numpy()
    assert np.isnan(ratio[:6]).all()  # baseline needs 5 earlier traded days
    assert_allclose(ratio[6], 30 / 10)
    assert_allclose(ratio[7], 10 / np.mean([10, 10, 10, 10, 10, 30]))
    assert np.isnan(f.loc[2, "activity_ratio_21d"])  # not traded: no ratio, not 0


def test_no_history_means_no_threshold():
    f = build_features(hand_panel(PNL, FILLS))
    assert f["large_loss_threshold"].isna().all()
    assert f["days_since_large_loss"].isna().all()
    # unjudged traded days make the count unknown, not 0
    assert f["large_losses_5d"].isna().all()


def _long_panel() -> tuple[pd.DataFrame, np.ndarray]:
    pnl = np.array([((k * 37) % 100) - 30.0 for k in range(70)])
    pnl[45], pnl[52] = -500.0, -400.0
    return hand_panel(list(pnl)), pnl


def test_trader_threshold_and_days_since_large_loss():
    panel, pnl = _long_panel()
    thr = large_loss_thresholds(panel)
    expected = [NAN] * 40 + [min(np.quantile(pnl[:k], 0.10), 0.0) for k in range(40, 70)]
    assert_allclose(thr["threshold"], expected)
    assert (thr["method"].iloc[40:] == "trader").all()
    assert (thr["method"].iloc[:40] == "none").all()  # one trader: no firm-wide pool

    f = build_features(panel)
    is_ll = np.array([k >= 40 and pnl[k] < expected[k] for k in range(70)])
    assert is_ll[45] and is_ll[52]
    last, since = None, []
    for k in range(70):
        last = k if is_ll[k] else last
        since.append(NAN if last is None else k - last)
    assert_array_equal(f["days_since_large_loss"], since)
    assert f.loc[45, "days_since_large_loss"] == 0 and f.loc[52, "days_since_large_loss"] == 0
    judged = np.where(np.arange(70) >= 40, is_ll.astype(float), NAN)
    # a window holding a day without a threshold has an unknown count
    counts = pd.Series(judged).rolling(5, min_periods=5).sum().to_numpy()
    assert_array_equal(f["large_losses_5d"], counts)
    assert np.isnan(counts[43]) and counts[56] >= 1


def test_skew_matches_pandas_on_one_window():
    panel, pnl = _long_panel()
    f = build_features(panel)
    assert_allclose(f["pnl_skew_63d"].iloc[-1], pd.Series(pnl[-63:]).skew(), rtol=1e-9)
