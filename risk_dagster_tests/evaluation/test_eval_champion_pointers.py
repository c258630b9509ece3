"""Champion pointers: written atomically, paths relative to the data directory (a moved lake
keeps its champions), absolute ones from older lakes still read; the fallback order."""

import json
import shutil

import pytest

from risk_dagster.core.trader_ids import InvalidTraderId
from risk_dagster.evaluation.champions import (champion_model_path, latest_model, read_champion,
                                               with_fallbacks, write_champion, write_champions)
from risk_dagster.models import load_model, save_model
from risk_dagster.models.baselines import RULE_THRESHOLDS, RulesRiskModel
from risk_dagster.models.calibration import Platt


def _model_dir(models, owner, family, version):
    path = models / owner / family / version
    path.mkdir(parents=True)
    (path / "meta.json").write_text("{}")
    return path


def _rules_model(models, tid):
    """A real stored rules model of ``tid`` (LightGBM-free, JSON only)."""
    model = RulesRiskModel(tid, {k: list(v) for k, v in RULE_THRESHOLDS.items()},
                           Platt(a=0.5, b=-2.0, fitted=True), 63, 10, 0.0, -800.0)
    model.meta = {"training_window": {"first_trade_date": "2024-01-02",
                                      "last_trade_date": "2024-05-31",
                                      "last_label_date": "2024-05-31", "cutoff": None},
                  "cv_metrics": {"auc": 0.6, "brier": 0.09}, "data_fingerprint": "test",
                  "config": {}}
    return save_model(model, models)


def test_champion_pointer_round_trip(tmp_path):
    assert read_champion(tmp_path, "T0001") is None
    decision = {"family": "trader_lgbm", "path": "T0001/trader_lgbm/20240101-abcd1234",
                "reason": "best log-loss"}
    target = write_champion(tmp_path, "T0001", decision)
    assert target == tmp_path / "T0001" / "champion.json"
    assert read_champion(tmp_path, "T0001") == decision
    write_champion(tmp_path, "T0001", {**decision, "family": "rules"})
    assert read_champion(tmp_path, "T0001")["family"] == "rules"
    assert [p.name for p in target.parent.iterdir()] == ["champion.json"]
    with pytest.raises(InvalidTraderId):
        write_champion(tmp_path, "../evil", decision)


def test_pointer_is_relative_and_survives_a_moved_data_dir(tmp_path):
    models = tmp_path / "data" / "models"
    _model_dir(models, "T0001", "trader_lgbm", "20240101-aaaa0000")
    _model_dir(models, "T0001", "trader_lgbm", "20240301-bbbb1111")  # the latest is served
    out = write_champions({"T0001": {"chosen": "trader_lgbm", "reason": "best"}}, models, "run-1")
    stored = json.loads((models / "T0001" / "champion.json").read_text())
    assert stored["path"] == "models/T0001/trader_lgbm/20240301-bbbb1111"
    assert stored["family"] == "trader_lgbm" and stored["run_id"] == "run-1"
    assert out["T0001"] == stored
    shutil.move(tmp_path / "data", tmp_path / "moved")
    moved = tmp_path / "moved" / "models"
    assert champion_model_path(moved, read_champion(moved, "T0001")) == \
        moved / "T0001" / "trader_lgbm" / "20240301-bbbb1111"


def test_a_moved_lake_still_loads_its_champion_model(tmp_path):
    models = tmp_path / "data" / "models"
    folder = _rules_model(models, "T0007")
    write_champions({"T0007": {"chosen": "rules"}}, models, "run-2")
    assert read_champion(models, "T0007")["path"] == f"models/T0007/rules/{folder.name}"
    shutil.move(tmp_path / "data", tmp_path / "elsewhere")
    moved = tmp_path / "elsewhere" / "models"
    model = load_model(champion_model_path(moved, read_champion(moved, "T0007")))
    assert model.meta["family"] == "rules" and model.meta["owner"] == "T0007"
    assert model.meta["training_window"]["last_trade_date"] == "2024-05-31"


def test_absolute_legacy_pointer_and_missing_model(tmp_path):
    models = tmp_path / "models"
    legacy = _model_dir(models, "T0002", "rules", "20240101-cccc2222")
    write_champion(models, "T0002", {"family": "rules", "path": str(legacy)})  # an old lake's
    assert champion_model_path(models, read_champion(models, "T0002")) == legacy
    assert champion_model_path(models, {"path": "models/T0002/rules/19990101-gone"}) is None
    assert champion_model_path(models, {"path": str(models / "T0002" / "rules" / "gone")}) is None
    assert champion_model_path(models, {"family": "rules"}) is None
    assert champion_model_path(models, None) is None


def test_latest_model_names_the_pooled_folder_for_the_pooled_family(tmp_path):
    models = tmp_path / "models"
    _model_dir(models, "pooled", "pooled_lgbm", "20240102-eeee4444")
    _model_dir(models, "pooled", "pooled_lgbm", "20231229-ffff5555")
    assert latest_model(models, "T0009", "pooled_lgbm") == "models/pooled/pooled_lgbm/20240102-eeee4444"
    assert latest_model(models, "T0009", "rules") is None


def test_fallback_prefers_the_pooled_model_then_the_traders_rules(tmp_path):
    models = tmp_path / "models"
    _model_dir(models, "T0003", "rules", "20240101-dddd3333")
    only_rules = with_fallbacks({}, ["T0003"], models)
    assert only_rules["T0003"]["chosen"] == "rules"
    assert only_rules["T0003"]["reason"] == "no out-of-sample rows for this trader: fallback rules"
    _model_dir(models, "pooled", "pooled_lgbm", "20240101-eeee4444")
    both = with_fallbacks({"T0004": {"chosen": "logistic", "reason": "best"}},
                          ["T0003", "T0004", "T0005"], models)
    assert both["T0003"]["chosen"] == "pooled_lgbm" and both["T0005"]["chosen"] == "pooled_lgbm"
    assert both["T0004"] == {"chosen": "logistic", "reason": "best"}  # a validated one is kept
    none = with_fallbacks({}, ["T0006"], tmp_path / "empty")["T0006"]
    assert none["chosen"] is None and none["candidates"] == []
    assert none["reason"].endswith("fallback none (built-in rules baseline)")
    # a trader without a chosen model gets no pointer
    assert write_champions({"T0006": none}, tmp_path / "empty", "run-3") == {"T0006": none}
    assert read_champion(tmp_path / "empty", "T0006") is None
