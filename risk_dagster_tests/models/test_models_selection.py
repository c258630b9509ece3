"""Feature selection and per-trader normalisation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from risk_dagster.models import TrainingConfig, select_features
from risk_dagster.models.frames import normalize_by_trader, training_frame
from risk_dagster.models.selection import _usable, auc_ranking, corr_ranking


def test_selection_finds_the_signal_and_prunes_duplicates(synthetic):
    features, labels = synthetic
    data = training_frame(features[features.trader_id == "T0002"], labels)
    X = data[[c for c in features.columns if c.startswith("f")]].copy()
    X["f1_copy"] = X["f1"] * 2.0 + 1.0  # rank-identical to f1: must be pruned
    cfg = TrainingConfig(max_features=6)
    kept = select_features(X, data["large_loss"].to_numpy(), data["next_net_pnl"].to_numpy(), cfg)
    assert len(kept) == 6
    assert {"f1", "f2"} <= set(kept[:4])
    assert not {"f1", "f1_copy"} <= set(kept)


def test_selection_is_deterministic_and_ignores_constant_columns(synthetic):
    features, labels = synthetic
    data = training_frame(features[features.trader_id == "T0001"], labels)
    X = data[["f1", "f2", "f3", "f4", "f5"]].assign(const=1.0, empty=np.nan)
    args = (X, data["large_loss"].to_numpy(), data["next_net_pnl"].to_numpy(), TrainingConfig())
    first = select_features(*args)
    assert first == select_features(*args)
    assert "const" not in first and "empty" not in first and len(first) == 5


def test_a_selection_is_remembered_under_its_inputs_only(synthetic, monkeypatch):
    from risk_dagster.models import selection

    features, labels = synthetic
    data = training_frame(features[features.trader_id == "T0001"], labels)
    X = data[["f1", "f2", "f3", "f4", "f5"]].copy()
    y, pnl = data["large_loss"].to_numpy(), data["next_net_pnl"].to_numpy()
    cfg = TrainingConfig(max_features=3)
    monkeypatch.setattr(selection, "_selected", type(selection._selected)())
    ranked = []
    monkeypatch.setattr(selection, "gain_ranking", lambda M, *a: ranked.append(1) or M[0] * 0)
    first = select_features(X, y, pnl, cfg)
    assert select_features(X.copy(), y.copy(), pnl.copy(), cfg) == first and len(ranked) == 1
    changed = X.copy()
    changed.iloc[-1, 0] += 1.0  # one value of one row
    for args in ((changed, y, pnl, cfg), (X, 1 - y, pnl, cfg), (X, y, pnl + 1.0, cfg),
                 (X, y, pnl, TrainingConfig(max_features=3, seed=8)),
                 (X, y, pnl, TrainingConfig(max_features=2)),
                 (X.rename(columns={"f1": "g1"}), y, pnl, cfg)):
        select_features(*args)
    assert len(ranked) == 7  # each ranked afresh


def test_rankings_equal_their_pandas_formulation(synthetic):
    """The NumPy rankings give exactly what pandas' nunique / fillna(median) + rank / rank +
    corrwith give, with missing values, ties, a constant and an all-missing column."""
    features, labels = synthetic
    data = training_frame(features[features.trader_id == "T0001"], labels)
    X = data[[c for c in features.columns if c.startswith("f")]].copy()
    rng = np.random.default_rng(3)
    X = X.mask(rng.random(X.shape) < 0.15)  # missing values
    X["ties"] = np.round(X["f1"].fillna(0.0), 0)  # few distinct values
    X["const"], X["empty"], X["flag"] = 1.0, np.nan, (X["f2"] > 0).astype(bool)
    y = data["large_loss"].to_numpy(np.int64)
    pnl = data["next_net_pnl"].to_numpy(np.float64)
    cols = [c for c in X.columns if X[c].nunique(dropna=True) > 1]
    values = np.asfortranarray(X.to_numpy(np.float64, na_value=np.nan))
    assert [X.columns[i] for i in _usable(values)] == cols == [
        c for c in X.columns if c not in ("const", "empty")]
    Xu = X[cols].astype("float64")
    M = np.asfortranarray(Xu.to_numpy())
    n1, n0 = int(y.sum()), int(len(y) - y.sum())
    ranks = Xu.fillna(Xu.median()).rank(method="average")
    auc = ((ranks[y == 1].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0) - 0.5).abs()
    assert np.array_equal(auc_ranking(M, y), auc.to_numpy())
    spearman = Xu.rank().corrwith(pd.Series(pnl, index=Xu.index).rank()).abs().fillna(0.0)
    assert np.array_equal(corr_ranking(M, pnl), spearman.to_numpy())


def test_normalisation_uses_only_strictly_earlier_rows():
    frame = pd.DataFrame({
        "trade_date": list(pd.bdate_range("2024-01-01", periods=6)) * 2,
        "trader_id": ["A"] * 6 + ["B"] * 6,
        "x": [1.0, 2.0, np.nan, 3.0, 10.0, 4.0, 100.0, 100.0, 100.0, 200.0, 300.0, 0.0],
    }).sample(frac=1.0, random_state=0)  # row order must not matter
    z = normalize_by_trader(frame, ["x"], min_periods=2)["x"]
    a = frame.trader_id == "A"
    by_date = z[a].set_axis(frame.loc[a, "trade_date"]).sort_index().to_numpy()
    prior = [1.0, 2.0]
    assert np.isnan(by_date[:2]).all() and np.isnan(by_date[2])  # < 2 priors; x missing
    assert np.isclose(by_date[3], (3.0 - np.mean(prior)) / np.std(prior, ddof=1))
    prior = [1.0, 2.0, 3.0]
    assert np.isclose(by_date[4], (10.0 - np.mean(prior)) / np.std(prior, ddof=1))
    # Changing a later row leaves earlier values untouched (point in time).
    later = frame.copy()
    last = (later.trader_id == "A") & (later.trade_date == later.trade_date.max())
    later.loc[last, "x"] = 1e6
    assert normalize_by_trader(later, ["x"], 2)["x"][~last].equals(z[~last])
    # B: its constant prior history has std 0 -> NaN, not inf.
    b = z[frame.trader_id == "B"].set_axis(frame.loc[frame.trader_id == "B", "trade_date"])
    assert np.isnan(b.sort_index().iloc[3])
