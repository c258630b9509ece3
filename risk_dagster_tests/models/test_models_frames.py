"""normalize_by_trader computed a few columns at a time gives each trader's point-in-time
z-scores, whatever the chunk size and the row order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from risk_dagster.models.frames import normalize_by_trader


def _frame(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for t, (scale, offset) in {"A": (1.0, 0.0), "B": (50.0, 1000.0), "C": (0.01, -3.0)}.items():
        for d in pd.bdate_range("2024-01-02", periods=30):
            rows.append({"trader_id": t, "trade_date": d.date(),
                         **{f"x{i}": offset + scale * rng.normal() for i in range(5)}})
    frame = pd.DataFrame(rows)
    frame.loc[rng.random(len(frame)) < 0.1, "x2"] = np.nan
    return frame.sample(frac=1.0, random_state=seed)  # any row order


def _expected(frame: pd.DataFrame, col: str, min_periods: int) -> pd.Series:
    """Mean and sample std of the trader's earlier non-missing values, one row at a time."""
    out = pd.Series(np.nan, index=frame.index)
    for _, rows in frame.sort_values("trade_date").groupby("trader_id"):
        values = rows[col].to_numpy()
        for k, idx in enumerate(rows.index):
            past = values[:k][~np.isnan(values[:k])]
            if len(past) >= max(min_periods, 2) and past.std(ddof=1) > 1e-12:
                out[idx] = (values[k] - past.mean()) / past.std(ddof=1)
    return out


def test_chunked_z_scores_match_the_definition_and_do_not_depend_on_the_chunk_size():
    frame = _frame()
    cols = [f"x{i}" for i in range(5)]
    whole = normalize_by_trader(frame, cols, min_periods=3, chunk_columns=16)
    for chunk in (1, 2):
        pd.testing.assert_frame_equal(normalize_by_trader(frame, cols, 3, chunk_columns=chunk),
                                      whole, check_exact=True)
    assert whole.index.equals(frame.index) and list(whole.columns) == cols
    for col in cols:
        np.testing.assert_allclose(whole[col].to_numpy(), _expected(frame, col, 3).to_numpy(),
                                   rtol=1e-9, atol=1e-9, equal_nan=True)
    # the first three days of each trader have no z-score yet
    first = frame.sort_values("trade_date").groupby("trader_id").head(3).index
    assert whole.loc[first].isna().all().all()
