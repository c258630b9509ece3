"""Walk-forward splits are expanding, purged and embargoed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk_dagster.models import TrainingConfig, calibration_split, walk_forward_splits


def _frame(n_days: int, gaps: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """One trader: label_date = D + gap sessions (gap >= 1), on a business-day grid."""
    dates = pd.bdate_range("2024-01-01", periods=n_days + max(gaps) + 1)
    d = dates[:n_days]
    ld = dates[np.arange(n_days) + np.resize(gaps, n_days)]
    return d.to_numpy(), ld.to_numpy()


@settings(max_examples=40, deadline=None)
@given(n_days=st.integers(40, 200), embargo=st.integers(1, 5), n_folds=st.integers(1, 5),
       gaps=st.lists(st.integers(1, 8), min_size=1, max_size=20))
def test_no_training_label_reaches_into_embargo(n_days, embargo, n_folds, gaps):
    d, ld = _frame(n_days, gaps)
    cfg = TrainingConfig(n_folds=n_folds, embargo_sessions=embargo, min_train_sessions=20)
    grid = np.unique(d)
    folds = walk_forward_splits(d, ld, cfg)
    assert folds, "expected at least one fold"
    for f in folds:
        start_pos = int(np.searchsorted(grid, f.test_start))
        assert ld[f.train_idx].max() < grid[start_pos - embargo]
        assert d[f.train_idx].max() < f.test_start
        assert d[f.test_idx].min() == f.test_start and d[f.test_idx].max() == f.test_end
    # Test blocks tile the sessions after the first min_train, in order, without overlap.
    tested = np.concatenate([f.test_idx for f in folds])
    assert len(tested) == len(np.unique(tested)) == n_days - 20


def test_purge_and_embargo_drop_exactly_the_late_labels():
    d, ld = _frame(60, [7, 1, 1, 1])  # rows 0, 4, 8, ... get their label 7 sessions later
    cfg = TrainingConfig(n_folds=2, embargo_sessions=1, min_train_sessions=30)
    f0 = walk_forward_splits(d, ld, cfg)[0]
    # Test starts at session 30; the embargo limit is session 29: keep rows with i + gap < 29.
    # Row 24 (label at 31) and 28 (35) are purged, row 29 (label at 30) is embargoed.
    assert f0.train_idx.tolist() == [i for i in range(28) if i != 24]
    assert f0.test_idx.tolist() == list(range(30, 45))


def test_calibration_slice_is_later_than_the_purged_fit_part():
    d, ld = _frame(100, [1, 3])
    cfg = TrainingConfig(calib_frac=0.2, embargo_sessions=2)
    fit, calib = calibration_split(d, ld, cfg)
    assert calib.tolist() == list(range(80, 100))
    grid = np.unique(d)
    assert ld[fit].max() < grid[80 - 2]
    assert len(fit) >= 74


def test_too_short_history_gives_no_fold_and_bad_config_is_refused():
    d, ld = _frame(50, [1])
    assert walk_forward_splits(d, ld, TrainingConfig(min_train_sessions=50)) == []
    with pytest.raises(ValueError):
        TrainingConfig(embargo_sessions=0)
    with pytest.raises(ValueError):
        TrainingConfig(max_features=31)
