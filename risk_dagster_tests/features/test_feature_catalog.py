"""The catalog documents exactly the columns that build_features produces."""

from __future__ import annotations

import numpy as np

from risk_dagster.features import build_features, feature_catalog

REQUIRED = ["net_pnl_d0", "loss_streak", "drawdown_21d", "large_losses_5d", "pnl_vol_21d",
            "activity_ratio_21d", "size_ratio_21d", "days_since_large_loss", "traded_d0"]
CATEGORIES = {"performance", "activity", "execution", "behaviour", "market", "cross"}


def test_catalog_matches_columns_exactly(synthetic_panel):
    feats = build_features(synthetic_panel)
    cat = feature_catalog()
    assert list(feats.columns[:2]) == ["trade_date", "trader_id"]
    assert list(feats.columns[2:]) == cat["name"].tolist()
    assert not cat["name"].duplicated().any()
    assert len(cat) >= 150
    assert set(REQUIRED) <= set(cat["name"])


def test_catalog_rows_are_documented():
    cat = feature_catalog()
    assert list(cat.columns) == ["name", "category", "description", "window", "unit", "phrase"]
    assert set(cat["category"]) == CATEGORIES
    for col in ("description", "window", "unit", "phrase"):
        assert (cat[col].str.len() > 0).all(), col


def test_one_row_per_panel_row_all_numeric(synthetic_panel):
    feats = build_features(synthetic_panel)
    assert len(feats) == len(synthetic_panel)
    keys = feats[["trade_date", "trader_id"]]
    assert not keys.duplicated().any()
    assert set(map(tuple, keys.to_numpy())) == set(
        map(tuple, synthetic_panel[["trade_date", "trader_id"]].to_numpy()))
    values = feats.iloc[:, 2:]
    assert all(dt == np.float64 for dt in values.dtypes)
    assert not np.isinf(values.to_numpy()).any()
    # every feature is informative somewhere on the synthetic panel
    assert values.notna().any().all(), values.columns[~values.notna().any()].tolist()
