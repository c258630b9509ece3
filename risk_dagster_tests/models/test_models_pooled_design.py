"""The pooled design without its copies: ``normalize_by_trader`` on a hand-made frame gives the
hand-computed z-scores, and ``pooled_training_frame`` (z-scores only for the labelled rows,
labels attached by position) equals the old path -- z-scores of every row, then merged with the
labels -- computed here independently, one row at a time."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from risk_dagster.models.config import TrainingConfig
from risk_dagster.models.frames import normalize_by_trader
from risk_dagster.models.training import pooled_training_frame

D = [dt.date(2025, 3, d) for d in (3, 4, 5, 6, 7)]


def _hand_frame() -> pd.DataFrame:
    rows = [("A", D[0], 1.0), ("A", D[1], 3.0), ("A", D[2], 5.0), ("A", D[3], np.nan),
            ("A", D[4], 11.0), ("B", D[0], 2.0), ("B", D[1], 2.0), ("B", D[2], 2.0),
            ("B", D[3], 5.0), ("B", D[4], 6.0)]
    frame = pd.DataFrame(rows, columns=["trader_id", "trade_date", "x"])
    return frame.iloc[[7, 2, 9, 0, 4, 5, 1, 8, 3, 6]].set_index(pd.Index(list("abcdefghij")))


def test_z_scores_by_hand():
    frame = _hand_frame()
    z = normalize_by_trader(frame, ["x"], min_periods=2)["x"]
    # A: 1, 3 -> (5 - 2) / sqrt(2); a missing value gets none and is skipped later;
    #    1, 3, 5 -> (11 - 3) / 2. B: 2, 2, 2 has std 0 (no z-score); 2, 2, 2, 5 -> mean 2.75,
    #    std 1.5 -> (6 - 2.75) / 1.5. Fewer than 2 earlier values: none.
    expected = {("A", D[2]): 3 / np.sqrt(2), ("A", D[4]): 4.0, ("B", D[4]): 3.25 / 1.5}
    assert z.dtype == np.float64 and z.index.equals(frame.index)
    for idx, row in frame.iterrows():
        want = expected.get((row["trader_id"], row["trade_date"]), np.nan)
        np.testing.assert_allclose(z[idx], want, rtol=1e-12, equal_nan=True)
    # rows=: only those rows, in that order, with their index labels; statistics still use all
    picked = normalize_by_trader(frame, ["x"], min_periods=2, rows=np.array([4, 2]))["x"]
    assert list(picked.index) == ["e", "c"]
    np.testing.assert_allclose(picked.to_numpy(), [4.0, 3.25 / 1.5], rtol=1e-12)


def _firm(seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    rng = np.random.default_rng(seed)
    days = [d.date() for d in pd.bdate_range("2025-01-02", periods=40)]
    rows, labels = [], []
    for t, scale in (("T1", 1.0), ("T2", 300.0), ("T3", 0.02)):
        for k, d in enumerate(days):
            if t == "T3" and k % 7 == 3:
                continue  # a trader who skips days
            rows.append({"trade_date": d, "trader_id": t, "f0": scale * rng.normal(),
                         "f1": rng.integers(0, 4), "f2": 10.0 + scale * rng.normal()})
            status = ("pending" if k >= 38 else "no_next_trade" if k == 20 and t == "T2"
                      else "complete")
            if not (t == "T1" and k == 11):  # a feature row with no label row at all
                labels.append({"trade_date": d, "trader_id": t,
                               "label_date": days[min(k + 1, len(days) - 1)],
                               "large_loss": float(rng.random() < 0.2) if k != 5 else np.nan,
                               "next_net_pnl": scale * rng.normal(), "label_status": status})
    features = pd.DataFrame(rows)
    features.loc[rng.random(len(features)) < 0.1, "f2"] = np.nan
    features = features.sort_values(["trade_date", "trader_id"]).reset_index(drop=True)
    return features, pd.DataFrame(labels).sample(frac=1.0, random_state=seed), ["f0", "f1", "f2"]


def _old_path(features: pd.DataFrame, labels: pd.DataFrame, cols: list[str],
              min_periods: int) -> pd.DataFrame:
    """Every row's z-scores, one row at a time, then merged with the complete labels."""
    z = features[["trade_date", "trader_id"]].copy()
    for col in cols:
        z[col] = np.nan
        for _, rows in features.groupby("trader_id"):
            values = rows[col].to_numpy(np.float64)
            for k, idx in enumerate(rows.index):
                past = values[:k][~np.isnan(values[:k])]
                if len(past) >= max(min_periods, 2) and past.std(ddof=1) > 1e-12:
                    z.loc[idx, col] = (values[k] - past.mean()) / past.std(ddof=1)
    lab = labels[(labels["label_status"] == "complete") & labels["large_loss"].notna()]
    out = z.merge(lab.drop(columns="label_status"), on=["trade_date", "trader_id"])
    out = out.sort_values(["trade_date", "trader_id"]).reset_index(drop=True)
    out["trade_date"] = pd.to_datetime(out["trade_date"])
    out["label_date"] = pd.to_datetime(out["label_date"])
    out["large_loss"] = out["large_loss"].astype("int64")
    return out


def test_pooled_training_frame_equals_the_merged_design_of_every_row():
    features, labels, cols = _firm()
    cfg = TrainingConfig(norm_min_periods=4)
    got = pooled_training_frame(features, labels, cols, cfg)
    want = _old_path(features, labels, cols, cfg.norm_min_periods)
    assert list(got.columns) == list(want.columns)
    # dropped: 5 pending, 1 no_next_trade, 1 without a label row, 3 with large_loss missing
    assert len(got) == len(want) == len(features) - 10
    assert got.index.equals(pd.RangeIndex(len(got)))
    assert (got[cols].dtypes == np.float64).all()
    for col in ["trade_date", "trader_id", "label_date", "large_loss", "next_net_pnl"]:
        pd.testing.assert_series_equal(got[col], want[col], check_dtype=True)
    np.testing.assert_allclose(got[cols].to_numpy(np.float64), want[cols].to_numpy(np.float64),
                               rtol=1e-9, atol=1e-12, equal_nan=True)
    assert got[cols].notna().sum().min() > 50  # the comparison is not all NaN
