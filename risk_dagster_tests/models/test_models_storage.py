"""Model files: LightGBM text + JSON, versioned, reload to the same predictions."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd

from risk_dagster.models import list_versions, load_model, save_model


def _saved(result, root):
    return {family: save_model(model, root) for family, model in result.final_models.items()}


def test_models_reload_to_identical_predictions(trader_result, pooled_result, synthetic, tmp_path):
    features, _ = synthetic
    mine = features[features.trader_id == "T0001"].reset_index(drop=True)
    for result, frame in ((trader_result, mine), (pooled_result, features)):
        for family, path in _saved(result, tmp_path).items():
            before = result.final_models[family].predict(frame)
            after = load_model(path).predict(frame)
            pd.testing.assert_frame_equal(before, after, check_exact=False, rtol=1e-12)
            assert before["p_large_loss"].between(0, 1).all() and before.notna().all().all()


def test_layout_is_text_and_json_only(trader_result, pooled_result, tmp_path):
    paths = {**_saved(trader_result, tmp_path), **_saved(pooled_result, tmp_path)}
    assert paths["trader_lgbm"].parent == tmp_path / "T0001" / "trader_lgbm"
    assert paths["pooled_lgbm"].parent == tmp_path / "pooled" / "pooled_lgbm"
    lgbm_files = sorted(p.name for p in paths["trader_lgbm"].iterdir())
    assert lgbm_files == ["classifier.txt", "meta.json", "regressor.txt", "var05.txt"]
    assert sorted(p.name for p in paths["rules"].iterdir()) == ["meta.json"]
    assert (paths["trader_lgbm"] / "var05.txt").read_text().startswith("tree")
    assert "objective=quantile" in (paths["trader_lgbm"] / "var05.txt").read_text()
    every = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.suffix for p in every} == {".txt", ".json"}
    for p in every:
        assert not p.read_bytes().startswith(b"\x80")  # pickle protocol 2+ magic byte
    meta = json.loads((paths["trader_lgbm"] / "meta.json").read_text())
    for key in ("features", "cv_metrics", "training_window", "data_fingerprint", "code_version",
                "config", "fit", "version"):
        assert key in meta
    assert meta["model"]["calibration"]["method"] == "sigmoid"
    assert len(meta["data_fingerprint"]) == 64 and meta["cv_metrics"]["n"] > 0
    assert 0 < len(meta["features"]) <= 30


def test_versions_are_kept_and_same_inputs_rewrite_the_same_version(trader_result, tmp_path):
    model = trader_result.final_models["logistic"]
    first = save_model(model, tmp_path)
    assert save_model(model, tmp_path) == first
    later = dataclasses.replace(model, meta={
        **model.meta,
        "training_window": {**model.meta["training_window"], "last_label_date": "2099-01-01"},
    })
    second = save_model(later, tmp_path)
    assert second != first and first.exists()
    assert list_versions(tmp_path, "T0001", "logistic") == [first.name, second.name]
    assert not [p for p in (tmp_path / "T0001" / "logistic").iterdir() if p.name.startswith(".")]


def test_contributions_add_up_to_the_calibrated_log_odds(trader_result, pooled_result, synthetic):
    features, _ = synthetic
    mine = features[features.trader_id == "T0001"].reset_index(drop=True)
    models = [*trader_result.final_models.values(), pooled_result.final_models["pooled_lgbm"]]
    for model in models:
        frame = features if model.family == "pooled_lgbm" else mine
        contrib = model.contributions(frame)
        p = model.predict(frame)["p_large_loss"].to_numpy()
        assert np.allclose(contrib.sum(axis=1).to_numpy(), np.log(p / (1 - p)), atol=1e-6)
        assert contrib.columns[-1] == "bias"
    rules = trader_result.final_models["rules"].contributions(mine)
    assert list(rules.columns) == ["loss_streak", "drawdown_21d", "net_pnl_d0", "large_losses_5d",
                                   "bias"]

