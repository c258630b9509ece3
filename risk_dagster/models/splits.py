"""Purged, embargoed walk-forward splits over trade dates.

A row of the training frame is a day D with a label observed at ``label_date`` (the trader's next
traded session). A training row may only be used for a test fold starting at date S if its label
was known well before S: ``label_date < grid[pos(S) - embargo]`` where ``grid`` is the sorted set
of sessions in the frame. This both purges (label_date >= S) and embargoes (the ``embargo``
sessions just before S).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from risk_dagster.models.config import TrainingConfig


@dataclass(frozen=True)
class Fold:
    """One walk-forward fold: positional row indices into the arrays given to the splitter."""

    fold: int
    train_idx: np.ndarray
    test_idx: np.ndarray
    test_start: np.datetime64
    test_end: np.datetime64


def _as_days(values) -> np.ndarray:
    return pd.to_datetime(pd.Series(values)).to_numpy(dtype="datetime64[D]")


def purged_train_index(
    dates: np.ndarray, label_dates: np.ndarray, grid: np.ndarray, start_pos: int, embargo: int
) -> np.ndarray:
    """Rows whose label is known before ``grid[start_pos - embargo]`` (positional indices)."""
    if start_pos - embargo <= 0:
        return np.array([], dtype=np.int64)
    limit = grid[start_pos - embargo]
    ok = (dates < grid[start_pos]) & (label_dates < limit)
    return np.flatnonzero(ok)


def walk_forward_splits(
    dates, label_dates, cfg: TrainingConfig, *, n_folds: int | None = None,
    min_train_sessions: int | None = None,
) -> list[Fold]:
    """Expanding-window folds over the sessions in ``dates``.

    dates / label_dates: per-row trade_date and label_date (any date-like arrays, same length).
    The sessions after the first ``min_train_sessions`` are cut into ``n_folds`` contiguous test
    blocks (fewer if there are fewer sessions than folds); each fold trains on the purged and
    embargoed rows before its block. Folds with no training row are skipped.
    """
    n_folds = cfg.n_folds if n_folds is None else n_folds
    min_train = cfg.min_train_sessions if min_train_sessions is None else min_train_sessions
    d, ld = _as_days(dates), _as_days(label_dates)
    grid = np.unique(d)
    if len(grid) <= min_train:
        return []
    blocks = [b for b in np.array_split(np.arange(min_train, len(grid)), n_folds) if len(b)]
    folds = []
    for block in blocks:
        start, end = grid[block[0]], grid[block[-1]]
        train = purged_train_index(d, ld, grid, int(block[0]), cfg.embargo_sessions)
        test = np.flatnonzero((d >= start) & (d <= end))
        if len(train) and len(test):
            folds.append(Fold(len(folds), train, test, start, end))
    return folds


def calibration_split(dates, label_dates, cfg: TrainingConfig) -> tuple[np.ndarray, np.ndarray]:
    """Split a training window into a fit part and a later calibration slice.

    Returns (fit_idx, calib_idx), positional. The calibration slice is the last ``calib_frac`` of
    the sessions; the fit part is purged and embargoed against it like a test fold.
    """
    d, ld = _as_days(dates), _as_days(label_dates)
    grid = np.unique(d)
    start_pos = max(1, int(round(len(grid) * (1.0 - cfg.calib_frac))))
    if start_pos >= len(grid):
        return np.arange(len(d)), np.array([], dtype=np.int64)
    fit = purged_train_index(d, ld, grid, start_pos, cfg.embargo_sessions)
    calib = np.flatnonzero(d >= grid[start_pos])
    return fit, calib
