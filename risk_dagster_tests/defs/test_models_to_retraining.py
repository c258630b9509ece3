"""End to end on a small simulated firm with an injected behaviour change: models, champions,
recommendations, drift report, the retrain sensor, and the retraining it asks for."""

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from risk_dagster.core.lake import Lake
from risk_dagster.features.phrases import formula_marks
from risk_dagster.recommendations.config import LEVEL_RANK
from risk_dagster.defs.assets import models as ma
from risk_dagster.defs.assets.ingest import trader_registry
from risk_dagster.defs.compute import LocalPoolCompute
from risk_dagster.defs.partitions import PARTITION_TAG, TRADER_PARTITIONS_NAME
from risk_dagster.defs.resources import (EvaluationSettings, LakeResource, ModelSettings,
                                         MonitoringSettings, NotifierResource,
                                         RecommendationSettings, TradeSource)
from risk_dagster.defs.sensors import drift_retrain_sensor
from risk_dagster.evaluation.champions import read_champion
from risk_dagster.models import list_versions
from risk_dagster.models.fleet import read_predictions
from risk_dagster.defs.partitions import RANGE_END_TAG, RANGE_START_TAG
from risk_dagster_tests.factories import date_assets

START, END = dt.date(2024, 1, 2), dt.date(2024, 12, 31)
CUTOFF, CHANGE = "2024-09-30", dt.date(2024, 10, 1)
AFFECTED = ("T0002", "T0005")
CHECK_DAY = dt.date(2024, 10, 7)  # the 5th session from the change (the target: within 5)
ALL = [*date_assets().values(), trader_registry, ma.pooled_model, ma.trader_models,
       ma.model_evaluation]


def _resources(root, **model_kw):
    return {
        "lake": LakeResource(data_dir=str(root)),
        "source": TradeSource(kind="simulator", data_dir=str(root), sim_traders=8,
                              sim_start=START.isoformat(), sim_end=END.isoformat(),
                              sim_changes=[f"{CHANGE}:trader_behaviour:{'+'.join(AFFECTED)}"]),
        "models": ModelSettings(n_trials=3, pooled_n_trials=2, n_folds=2, **model_kw),
        "compute": LocalPoolCompute(workers=1),
        "monitoring": MonitoringSettings(),
        "evaluation_settings": EvaluationSettings(),
        "recommendation_settings": RecommendationSettings(),
        "notifier": NotifierResource(),
    }


def _run(instance, resources, selection, first, last, tags=None):
    result = dg.materialize(ALL, selection=selection, instance=instance, resources=resources,
                            tags={RANGE_START_TAG: first, RANGE_END_TAG: last, **(tags or {})},
                            raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure][:3]
    return result


@pytest.fixture(scope="module")
def firm(tmp_path_factory):
    root = tmp_path_factory.mktemp("firm")
    resources = _resources(root, cutoff=CUTOFF)
    with dg.instance_for_test() as instance:
        _run(instance, resources, dg.AssetSelection.groups("ingest", "features"),
             START.isoformat(), END.isoformat())
        traders = instance.get_dynamic_partitions(TRADER_PARTITIONS_NAME)
        _run(instance, resources, dg.AssetSelection.groups("models"), traders[0], traders[-1])
        yield root, instance, resources, traders


def test_every_trader_has_a_champion_and_an_evaluation(firm):
    root, instance, _, traders = firm
    models = root / "models"
    assert traders
    for tid in traders:
        champ = read_champion(models, tid)
        assert champ and champ["family"] in {"pooled_lgbm", "trader_lgbm", "logistic", "rules"}
        path = root / champ["path"]  # relative to the data directory
        meta = json.loads((path / "meta.json").read_text())
        assert meta["training_window"]["last_label_date"] <= CUTOFF
        assert {p.suffix for p in path.iterdir()} <= {".txt", ".json"}  # LightGBM text + JSON
    html = next((root / "reports" / "model_evaluation").glob("*/evaluation.html")).read_text()
    assert "plotly" in html.lower()
    # the folder is the data's as-of date and the run, not the wall-clock date
    (folder,) = [p for p in (root / "reports" / "model_evaluation").iterdir() if p.is_dir()]
    last_evaluated = max(read_predictions(Lake(root))["trade_date"]).isoformat()
    assert folder.name[:11] == f"{last_evaluated}_"
    run = instance.get_runs(limit=1)[0]
    assert folder.name.endswith(run.run_id[:8])
    meta = instance.fetch_materializations(dg.AssetKey("model_evaluation"), limit=1).records[0]
    meta = meta.asset_materialization.metadata
    assert isinstance(meta["champion_auc"].value, float) and 0.4 < meta["champion_auc"].value < 1
    assert meta["champion_auc"].value == round(meta["champion_auc"].value, 3)
    assert isinstance(meta["counterfactual_benefit_usd"].value, int)
    assert len(meta["champions"].value.records) == len(traders)
    assert len(meta["report_markdown"].value) <= 20_000
    figures = {r.data["figure"]: r.data["value"] for r in meta["key_figures"].value.records}
    assert all(len(v.split(".")[1]) <= 4 for v in figures.values() if "." in v)  # decimals


def test_recommendations_are_published_for_every_active_trader(firm):
    root, instance, resources, _ = firm
    run = _run(instance, resources, dg.AssetSelection.groups("recommendations"),
               END.isoformat(), END.isoformat())
    live = root / "live" / "2025-01-02"
    recs = pd.read_csv(live / "recommendations.csv")
    features = Lake(root).read_df("trader_features", "date", [END.isoformat()])
    assert sorted(recs["trader_id"]) == sorted(features["trader_id"])
    assert set(recs["level"]) <= {"normal", "warn", "reduce", "close-only", "halt"}
    audit = json.loads((live / "recommendations.json").read_text())
    assert audit["audit"]["thresholds"]["kill_switch_share"] == 0.05
    assert audit["audit"]["models"] and audit["audit"]["inputs"]
    assert (live / "report.html").exists() and (live / "monitoring_log.json").exists()
    # the desk's view: a per-trader table, riskiest first, and reasons in plain words
    meta = run.asset_materializations_for_node("trade_recommendations")[0].metadata
    rows = meta["per_trader"].value.records
    assert [r.data["trader"] for r in rows] == list(recs.sort_values(
        ["level", "risk_score"], key=lambda c: c.map(LEVEL_RANK) if c.name == "level" else c,
        ascending=False)["trader_id"])
    assert {c.name for c in meta["per_trader"].value.schema.columns} >= {
        "trader", "level", "size multiplier", "loss limit USD", "position cap USD",
        "P(large loss) %", "risk score", "top reasons"}
    assert sum(meta["levels"].value.values()) == len(recs)
    assert meta["per_trader_shown"].value == f"all {len(recs)} traders"
    scores = Lake(root).read_df("risk_scores", "date", [END.isoformat()])
    published = [r for rs in scores["reasons"] for r in rs] + [
        r for cell in recs["reasons"].dropna() for r in cell.split("; ")]
    assert published and all(not formula_marks(r) for r in published), [
        r for r in published if formula_marks(r)]
    score_rows = run.asset_materializations_for_node("risk_scores")[0].metadata["per_trader"]
    assert all(not r.data["top reasons"].startswith("[") for r in score_rows.value.records)


def test_drift_sensor_retrains_exactly_the_affected_traders(firm):
    root, instance, resources, _ = firm
    run = _run(instance, resources, dg.AssetSelection.assets("drift_report"),
               CHECK_DAY.isoformat(), CHECK_DAY.isoformat())
    report = Lake(root).read_df("drift_report", "date", [CHECK_DAY.isoformat()])
    assert (report["status"] == "checked").all()
    # live performance beside the training figures, per trader, in the lake and in the UI
    assert {"live_auc", "training_auc", "live_brier", "training_brier", "live_rank_ic",
            "live_cf_benefit_usd"} <= set(report.columns)
    assert report["training_auc"].notna().all()
    meta = run.asset_materializations_for_node("drift_report")[0].metadata
    assert meta["traders_checked"].value == len(report) and "live_auc" in meta["per_trader"].value
    # the early alarms name the fingerprint's shift test and come with an Evidently report
    hits = report[report["trader_id"].isin(AFFECTED)]
    assert hits["drift_reason"].str.contains("shift 5d").all()
    assert all(Path(p).stat().st_size > 100_000 for p in hits["report_html"])
    with dg.build_sensor_context(instance=instance, resources=resources) as ctx:
        result = drift_retrain_sensor(ctx)
    requested = sorted(r.partition_key for r in result.run_requests)
    assert requested == sorted(AFFECTED), report[["trader_id", "drift_reason", "decay_reason"]]
    assert all(r.tags["risk/retrain_reason"] for r in result.run_requests)
    # the sensor does not ask twice for the same report
    with dg.build_sensor_context(instance=instance, resources=resources,
                                 cursor=result.cursor) as ctx:
        again = drift_retrain_sensor(ctx)
    assert isinstance(again, dg.SkipReason)
    # the requested runs retrain those traders: a new model version on data past the change
    retrain = _resources(root)  # no cutoff: the retraining sees the post-change data
    before = {t: list_versions(root / "models", t, "logistic") for t in requested}
    before_champions = {t: read_champion(root / "models", t) for t in requested}
    reports = root / "reports" / "model_evaluation"
    reports_before = sorted(p.name for p in reports.iterdir() if p.is_dir())
    for request in result.run_requests:
        tid = request.partition_key
        assert request.tags[PARTITION_TAG] == tid
        # run as a range of one trader (the helper's range tags replace the partition tag)
        tags = {k: v for k, v in request.tags.items() if k != PARTITION_TAG}
        retrain_run = _run(instance, retrain,
                           dg.AssetSelection.assets("trader_models", "model_evaluation"),
                           tid, tid, tags=tags)
        # the retrained trader's own partition describes that trader only
        trained = retrain_run.asset_materializations_for_node("trader_models")
        assert [e.partition for e in trained] == [tid]
        assert "traders" in trained[0].metadata and trained[0].metadata["traders"].value == 1
        assert trained[0].metadata["oos_rows"].value > 0
        after = list_versions(root / "models", tid, "logistic")
        assert len(after) == len(before[tid]) + 1
        newest = root / "models" / tid / "logistic" / after[-1] / "meta.json"
        assert json.loads(newest.read_text())["training_window"]["last_label_date"] > CUTOFF
        assert read_champion(root / "models", tid)["run_id"] != before_champions[tid]["run_id"]
    # each retrain wrote its own evaluation report; the weekly one is kept; latest.json names the last
    reports_after = sorted(p.name for p in reports.iterdir() if p.is_dir())
    assert set(reports_before) < set(reports_after)
    assert len(reports_after) == len(reports_before) + len(requested)
    latest = json.loads((reports / "latest.json").read_text())
    assert latest["run_id"] == retrain_run.run_id
    assert latest["folder"].endswith(f"_{retrain_run.run_id[:8]}")
    log = Lake(root).read_df("retrain_log", "trader")
    assert sorted(log["trader_id"]) == sorted(AFFECTED)
    assert set(log["drift_report_date"]) == {CHECK_DAY.isoformat()}


def test_a_range_shares_champions_and_calibrations_and_reports_the_same(firm):
    from risk_dagster.core.tables import read_feature_history
    from risk_dagster.monitoring import MonitoringConfig
    from risk_dagster.monitoring.drift_report import DriftCache, champion_drift_report

    root = firm[0]
    lake = Lake(root)
    days = [CHECK_DAY, CHECK_DAY + dt.timedelta(days=1), CHECK_DAY + dt.timedelta(days=2)]
    history = read_feature_history(lake, days[-1], since=days[0])
    labels = lake.read_df("risk_labels", "date")
    cfg, cache = MonitoringConfig(), DriftCache()

    def report(day, c):
        return champion_drift_report(history[history["trade_date"] <= day], labels, day,
                                     root / "models", cfg, calendar="XNYS", cache=c)

    shared = [report(d, cache) for d in days]
    fresh = [report(d, None) for d in days]
    for a, b in zip(shared, fresh, strict=True):
        pd.testing.assert_frame_equal(a, b)
    champions = {read_champion(root / "models", t)["path"] for t in shared[0]["trader_id"]}
    assert set(cache.models) == champions  # each champion loaded once for the whole range
    assert len(cache.references) == (shared[0]["status"] == "checked").sum()
