"""The behaviour shift test: state-explained residuals of the fingerprint, window means against
the reference's own window means."""

import numpy as np
import pandas as pd
import pytest

from risk_dagster.monitoring import MonitoringConfig, drift_scores
from risk_dagster.monitoring.drift import save_drift_html
from risk_dagster.monitoring.behaviour import fit_baseline, shift_tests, state_matrix
from risk_dagster_tests.factories import fetched_resources

WINDOWS = (5, 20)


def _trader(n=320, seed=0, change_at=None, size_shift=0.0, tilt_effect=0.9):
    """One tilt-prone trader: after a large loss its orders are bigger for a few sessions
    (tilt halves every session), so raw size is autocorrelated; ``size_shift`` (log) from row
    ``change_at`` on is the new habit to detect."""
    rng = np.random.default_rng(seed)
    large = (rng.random(n) < 0.12).astype(float)
    tilt = np.zeros(n)
    for t in range(1, n):
        tilt[t] = min(0.5 * tilt[t - 1] + large[t - 1], 1.0)
    log_size = 11.0 + tilt_effect * tilt + rng.normal(0, 0.1, n)
    if change_at is not None:
        log_size[change_at:] += size_shift
    since = np.full(n, np.nan)
    last = None
    for t in range(n):
        last = t if large[t] else last
        since[t] = np.nan if last is None else t - last
    return pd.DataFrame({
        "trade_date": pd.bdate_range("2024-01-02", periods=n).date, "trader_id": "T0001",
        "avg_order_notional_d0": np.expm1(log_size), "large_loss_d0": large,
        "days_since_large_loss": since, "loss_streak": 0.0, "win_streak": 0.0,
        "large_losses_5d": pd.Series(large).rolling(5, min_periods=1).sum().to_numpy(),
        "net_pnl_d0": np.where(large > 0, -1000.0, 100.0), "mkt_vol_regime": 1.0,
    })


def _split(frame, n_ref=250):
    return frame.iloc[:n_ref].reset_index(drop=True), frame.iloc[n_ref:].reset_index(drop=True)


def test_the_state_model_explains_the_tilt_so_window_means_are_tight():
    ref, _ = _split(_trader())
    base = fit_baseline(ref, ["avg_order_notional_d0"], WINDOWS, min_rows=60)
    raw = pd.Series(np.log1p(ref["avg_order_notional_d0"])).rolling(5).mean().std()
    assert base.window_sd[("avg_order_notional_d0", 5)] < raw / 2


def test_a_new_habit_is_found_in_five_sessions_and_a_bad_week_is_not():
    shifted = _trader(change_at=250, size_shift=0.3)
    ref, cur = _split(shifted)
    base = fit_baseline(ref, ["avg_order_notional_d0"], WINDOWS, min_rows=60)
    res = shift_tests(base, ref, cur.head(5), WINDOWS, min_current=5)
    assert res["window"].tolist() == [5] and res["z"].iloc[0] > 4 and res["p_value"].iloc[0] < 1e-4
    # no change, but large losses right before and inside the window: bigger orders that the
    # state explains (raw, the window is over 1 sd above the reference's average week)
    calm = _trader()
    calm.loc[248:252, "large_loss_d0"] = [1.0, 0.0, 0.0, 1.0, 0.0]
    tilt = np.zeros(len(calm))
    for t in range(1, len(calm)):
        tilt[t] = min(0.5 * tilt[t - 1] + calm["large_loss_d0"].iloc[t - 1], 1.0)
    calm["avg_order_notional_d0"] = np.expm1(11.0 + 0.9 * tilt + np.random.default_rng(1).normal(0, 0.1, len(calm)))
    calm["days_since_large_loss"] = _since(calm["large_loss_d0"].to_numpy())
    calm["large_losses_5d"] = calm["large_loss_d0"].rolling(5, min_periods=1).sum()
    ref, cur = _split(calm)
    base = fit_baseline(ref, ["avg_order_notional_d0"], WINDOWS, min_rows=60)
    res = shift_tests(base, ref, cur.head(5), WINDOWS, min_current=5)
    assert res["p_value"].iloc[0] > 1e-3
    raw = pd.Series(np.log1p(ref["avg_order_notional_d0"])).rolling(5).mean()
    assert (np.log1p(cur["avg_order_notional_d0"].head(5)).mean() - raw.mean()) / raw.std() > 1


def _since(large):
    out, last = np.full(len(large), np.nan), None
    for t, v in enumerate(large):
        last = t if v else last
        out[t] = np.nan if last is None else t - last
    return out


def test_null_p_values_are_not_too_small():
    """No change: across many traders and checks, the share of p < 0.01 stays near 1%."""
    ps = []
    for seed in range(20):
        ref, cur = _split(_trader(n=400, seed=seed))
        base = fit_baseline(ref, ["avg_order_notional_d0"], WINDOWS, min_rows=60)
        for end in range(20, len(cur), 5):
            ps += shift_tests(base, ref, cur.head(end), WINDOWS, min_current=5)["p_value"].tolist()
    ps = np.array(ps)
    assert len(ps) > 500
    assert (ps < 0.01).mean() < 0.03 and (ps < 0.5).mean() > 0.3


def test_the_first_current_row_uses_the_last_reference_row_as_its_state():
    frame = _trader()
    x = state_matrix(frame)
    assert x[0, 1] == 0  # no previous row: no event
    np.testing.assert_array_equal(x[1:, 1], frame["large_loss_d0"].to_numpy()[:-1])


def test_without_state_columns_it_is_a_plain_mean_shift():
    frame = _trader()[["trade_date", "trader_id", "avg_order_notional_d0"]]
    assert state_matrix(frame).shape == (len(frame), 1)
    ref, cur = _split(frame)
    base = fit_baseline(ref, ["avg_order_notional_d0"], WINDOWS, min_rows=60)
    assert set(base.coef) == {"avg_order_notional_d0"}
    assert len(shift_tests(base, ref, cur, WINDOWS, min_current=5)) == 2


def test_days_off_are_skipped_and_short_columns_are_not_tested():
    frame = _trader()
    frame.loc[frame.index % 3 == 0, "avg_order_notional_d0"] = np.nan  # a day off: no value
    frame["n_fills_d0"] = np.where(frame.index < 200, np.nan, 10.0)  # too little history
    ref, cur = _split(frame)
    base = fit_baseline(ref, ["avg_order_notional_d0", "n_fills_d0"], WINDOWS, min_rows=60)
    assert set(base.coef) == {"avg_order_notional_d0"}
    res = shift_tests(base, ref, cur.head(6), WINDOWS, min_current=5)
    assert res.empty  # 4 finite values: not enough for a 5-row window


@pytest.mark.parametrize("shift, drifted", [(0.0, False), (0.5, True)])
def test_drift_scores_combines_the_shift_test_with_ks(shift, drifted):
    frame = _trader(change_at=250, size_shift=shift)
    ref, cur = _split(frame)
    # KS of a count is off by default (ks_min_distinct); on here, to combine both kinds
    cfg = MonitoringConfig(shift_features=("avg_order_notional_d0",), ks_min_distinct=0)
    res = drift_scores(ref, cur.head(20), ["large_losses_5d"], cfg, engine="scipy")
    assert set(res.table["test"]) == {"ks", "shift"}
    default = drift_scores(ref, cur.head(20), ["large_losses_5d"],
                           MonitoringConfig(shift_features=("avg_order_notional_d0",)),
                           engine="scipy")
    assert set(default.table["test"]) == {"shift"} and default.drifted is drifted
    assert res.drifted is drifted
    if drifted:
        assert res.drifted_features == ["avg_order_notional_d0"]
        assert "shift 5d, +" in res.reason


def test_an_early_alarm_gets_an_evidently_report_on_the_rows_there_are(tmp_path):
    ref, cur = _split(_trader(change_at=250, size_shift=0.5))
    cfg = MonitoringConfig(shift_features=("avg_order_notional_d0",))
    result = drift_scores(ref, cur.head(5), ["large_losses_5d"], cfg, engine="scipy")
    assert result.drifted
    path = save_drift_html(ref, cur.head(5), ["large_losses_5d"], cfg, tmp_path / "T0001.html",
                           result)
    html = path.read_text()
    assert len(html) > 100_000 and "avg_order_notional_d0" in html
    # our decision heads the page, before Evidently's raw 0.05 verdicts
    head = html[: html.index("</section>")]
    assert "T0001 &mdash; DRIFT" in head and "avg_order_notional_d0 (shift 5d, +" in head
    # on its own offline: Evidently inlines its scripts; the title names trader and last date
    assert fetched_resources(html) == []
    last = str(cur.head(5)["trade_date"].max())[:10]
    assert f"<title>Drift report T0001 {last}</title>" in html


def test_ks_covers_the_champions_own_recent_features_only():
    from risk_dagster.monitoring.drift_report import drift_features

    chosen = ["pnl_vol_21d", "mkt_vol_regime", "large_loss_threshold", "tenure_sessions",
              "loss_streak", "not_a_feature"]
    # market features move for every trader at once; expanding-window ones trend by construction
    assert drift_features(chosen) == ["pnl_vol_21d", "loss_streak"]
