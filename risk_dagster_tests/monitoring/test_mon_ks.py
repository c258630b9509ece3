"""KS engines agree with each other and with SciPy; corrections are the textbook ones."""

import time

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from risk_dagster.monitoring.config import MonitoringConfig
from risk_dagster.monitoring.drift import drift_scores
from risk_dagster.monitoring.ks import adjust_pvalues, ks_pvalue, ks_pvalues, parse_drift_report


def test_bh_and_bonferroni_match_hand_computed_values():
    p = np.array([0.01, 0.04, 0.03, 0.20, np.nan])
    # BH, m=4: sorted 0.01,0.03,0.04,0.20 -> 0.04, 0.04*... step-up minima
    np.testing.assert_allclose(adjust_pvalues(p, "bh")[:4], [0.04, 0.05333333, 0.05333333, 0.20])
    assert np.isnan(adjust_pvalues(p, "bh")[4])
    np.testing.assert_allclose(adjust_pvalues(p, "bonferroni")[:4], [0.04, 0.16, 0.12, 0.80])


def test_fast_ks_pvalue_equals_scipy_with_ties_and_sizes():
    rng = np.random.default_rng(5)
    for _ in range(300):
        a = np.round(rng.standard_t(3, size=rng.choice([60, 250])), 1)
        b = np.round(rng.standard_t(3, size=rng.choice([5, 20])) + rng.choice([0.0, 1.5]), 1)
        assert ks_pvalue(a, b) == pytest.approx(ks_2samp(a, b)[1], rel=1e-12)


def _frames(rng, n_ref=250, n_cur=20, k=6):
    cols = [f"x{j}" for j in range(k)]
    ref = pd.DataFrame(rng.normal(size=(n_ref, k)), columns=cols)
    cur = pd.DataFrame(rng.normal(size=(n_cur, k)), columns=cols)
    cur["x0"] += 2.0
    ref.loc[3, "x1"] = np.nan  # missing values are dropped by both engines
    for f, start in ((ref, "2024-01-02"), (cur, "2025-01-02")):
        f["trade_date"] = pd.bdate_range(start, periods=len(f)).date
        f["trader_id"] = "T0001"
    return ref, cur, cols


def test_evidently_report_structure_and_same_pvalues_as_scipy():
    ref, cur, cols = _frames(np.random.default_rng(1))
    ev = ks_pvalues(ref, cur, cols, engine="evidently")
    sp = ks_pvalues(ref, cur, cols, engine="scipy")
    assert set(ev) == set(cols)  # keys not tested
    for c in cols:
        assert ev[c] == pytest.approx(sp[c], rel=1e-9)
    assert ev["x0"] < 1e-4 < min(ev[c] for c in cols[2:])


def test_parse_rejects_unexpected_structure():
    good = {"metrics": [{"metric_name": "DriftedColumnsCount(drift_share=0.5)", "value": {}},
                        {"config": {"type": "evidently:metric_v2:ValueDrift", "column": "a",
                                    "method": "ks"}, "value": 0.3}]}
    assert parse_drift_report(good, ["a"]) == {"a": 0.3}
    with pytest.raises(ValueError):
        parse_drift_report(good, ["a", "b"])
    psi = {"metrics": [good["metrics"][0], {"config": {**good["metrics"][1]["config"], "method": "psi"},
                                            "value": 0.3}]}
    with pytest.raises(ValueError):
        parse_drift_report(psi, ["a"])
    with pytest.raises(ValueError):
        parse_drift_report({"metrics": good["metrics"][1:]}, ["a"])


def test_drift_scores_with_evidently_is_fast_enough_and_saves_html_on_demand(tmp_path):
    ref, cur, cols = _frames(np.random.default_rng(2), n_cur=40)
    cfg = MonitoringConfig()
    ks_pvalues(ref, cur, cols[:1], engine="evidently")  # warm the import
    t0 = time.perf_counter()
    ev = drift_scores(ref, cur, cols, cfg, engine="evidently")
    elapsed = time.perf_counter() - t0
    sp = drift_scores(ref, cur, cols, cfg, engine="scipy")
    np.testing.assert_allclose(ev.table["q_value"], sp.table["q_value"], rtol=1e-9)
    assert ev.drifted and ev.drifted_features == ["x0"] and ev.html_path is None
    assert elapsed < 10.0  # two windows x one report each; ~1-2 s per report on 2 cores
    path = tmp_path / "T0001.html"
    drift_scores(ref, cur, cols, cfg, engine="evidently", html_path=path)
    assert path.stat().st_size > 100_000


def test_pseudo_window_pvalues_are_scipys_ks_on_each_window_and_rest():
    """Every pseudo-window at once (one sort) gives scipy's ks_2samp p-value of that window
    against the rest minus the gap, with ties, NaN and inf, and skips windows too small."""
    import numpy as np
    from scipy.stats import ks_2samp

    from risk_dagster.monitoring.ks import pseudo_window_pvalues

    rng = np.random.default_rng(4)
    col = np.round(rng.normal(size=90), 1)  # ties
    col[[3, 17, 40]] = np.nan
    col[60] = np.inf
    col[20:25] = np.nan  # the window starting at 20 has no finite value: left out
    starts = np.arange(0, 86, 5)
    got = pseudo_window_pvalues(col, starts, window=5, gap=10, min_rest=20, min_window=3)
    want = []
    for s in starts:
        rest = col[np.r_[0:max(s - 10, 0), min(s + 15, 90):90]]
        win = col[s:s + 5]
        rest, win = rest[np.isfinite(rest)], win[np.isfinite(win)]
        if len(rest) >= 20 and len(win) >= 3:
            want.append(ks_2samp(rest, win)[1])
    assert len(got) == len(want) == len(starts) - 1
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_exact_pvalue_is_ks_2samps_to_the_bit():
    """The p-value from (n1, n2, distance) is the one ks_2samp returns for samples with that
    distance (equal sizes, ties, distance 0 included), computed without ks_2samp's wrapper."""
    from risk_dagster.monitoring.ks import _exact_pvalue

    rng = np.random.default_rng(9)
    for _ in range(200):
        n1, n2 = int(rng.choice([20, 60, 213, 250])), int(rng.choice([5, 17, 20, 250]))
        a = np.round(rng.normal(size=n1), 1)
        b = np.round(rng.normal(size=n2) + rng.choice([0.0, 0.7]), 1)
        both = np.concatenate([a, b])
        d = np.max(np.abs(np.searchsorted(np.sort(a), both, "right") * n2
                          - np.searchsorted(np.sort(b), both, "right") * n1))
        assert _exact_pvalue(n1, n2, int(d)) == float(ks_2samp(a, b)[1])
    assert _exact_pvalue(30, 30, 0) == 1.0
