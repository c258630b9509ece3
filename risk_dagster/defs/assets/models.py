"""Model assets: the pooled model, per-trader candidates, and the evaluation that picks each
trader's champion. Retrained weekly; one trader can be retrained alone (retrain_trader_job)."""

import datetime as dt
import json
import time
from pathlib import Path

import dagster as dg
import pandas as pd

from risk_dagster.defs.metadata import markdown_table, report_links
from risk_dagster.defs.partitions import single_run, trader_partitions
from risk_dagster.defs.resources import EvaluationSettings, LakeResource, ModelSettings
from risk_dagster.evaluation import (
    evaluate,
    select_champions,
    write_reports,
)
from risk_dagster.evaluation.var_calibration import (VarCalibrationConfig, serving_scales,
                                                     violation_report, walk_forward_scales)
from risk_dagster.models import list_versions, read_champion, write_champion
from risk_dagster.models.config import POOLED
from risk_dagster.models.fleet import (
    MODELS_DIR,
    read_predictions,
    train_pooled,
    train_traders,
)
from risk_dagster.monitoring.champions import RETRAIN_LOG

_OWNERS = ["team:risk-engineering"]
# a trader's models read every date of the features and labels
_ALL_DATES = [dg.AssetDep(k, partition_mapping=dg.AllPartitionMapping())
              for k in ("trader_features", "risk_labels")]
REPORTS_DIR = "reports"


@dg.asset(
    deps=["trader_features", "risk_labels"], group_name="models", kinds={"lightgbm", "optuna"},
    owners=_OWNERS, pool="model_store",
    description="One LightGBM over all traders (trader id categorical, features normalised by "
    "each trader's own history), walk-forward validated; serves traders with short history.",
)
def pooled_model(lake: LakeResource, models: ModelSettings) -> dg.MaterializeResult:
    summary = train_pooled(str(lake.root), models.training_config())
    return dg.MaterializeResult(metadata={
        "seconds": summary["seconds"], "oos_rows": summary["oos_rows"],
        "cv": dg.MetadataValue.json(summary["cv"]),
        "auc": float(summary["cv"].get("pooled_lgbm", {}).get("auc") or 0.0),
        "model_path": dg.MetadataValue.path(summary["paths"].get("pooled_lgbm", ""))})


@dg.asset(
    deps=_ALL_DATES, partitions_def=trader_partitions,
    backfill_policy=single_run, group_name="models", kinds={"lightgbm", "optuna"}, owners=_OWNERS,
    description="Per trader: logistic and rules baselines and, with enough history, a LightGBM; "
    "out-of-sample predictions from purged walk-forward folds.",
)
def trader_models(context: dg.AssetExecutionContext, lake: LakeResource,
                  models: ModelSettings) -> dg.MaterializeResult:
    traders = list(context.partition_keys)
    started = time.perf_counter()
    summaries = train_traders(str(lake.root), traders, models.training_config(),
                              workers=models.workers)
    _log_drift_retrain(context, lake, traders)
    table = pd.DataFrame([{"trader_id": s["owner"], "families": ",".join(s["families"]),
                           "seconds": s["seconds"], "oos_rows": s["oos_rows"],
                           **{f"auc_{f}": m.get("auc") for f, m in s["cv"].items()}}
                          for s in summaries])
    return dg.MaterializeResult(metadata={
        "traders": len(traders), "seconds": round(time.perf_counter() - started, 1),
        "with_trader_lgbm": int(table["families"].str.contains("trader_lgbm").sum()),
        "per_trader": markdown_table(table, max_rows=50)})


def _log_drift_retrain(context, lake: LakeResource, traders: list[str]) -> None:
    """Runs launched by drift_retrain_sensor carry its tags; remember them for the cooldown."""
    tags = context.run.tags
    if "risk/retrain_reason" not in tags:
        return
    for tid in traders:
        lake.lake.write(RETRAIN_LOG, "trader", tid, pd.DataFrame([{
            "trader_id": tid, "drift_report_date": tags.get("risk/drift_report_date"),
            "reason": tags["risk/retrain_reason"], "detail": tags.get("risk/retrain_detail"),
            "run_id": context.run_id,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}]))


def _champion_path(models_root: Path, trader_id: str, family: str) -> str | None:
    owner = POOLED if family == "pooled_lgbm" else trader_id
    versions = list_versions(models_root, owner, family)
    return str(models_root / owner / family / versions[-1]) if versions else None


def _read_truth(lake) -> pd.DataFrame | None:
    """The simulator's true large-loss probabilities (None for a real firm)."""
    if not lake.keys("ground_truth", "date"):
        return None
    truth = lake.read_df("ground_truth", "date")
    return truth[["trade_date", "trader_id", "p_large_loss"]] if len(truth) else None


@dg.asset(
    deps=["pooled_model", "trader_models", "risk_labels", "ground_truth"], group_name="models",
    kinds={"plotly"}, owners=_OWNERS, pool="model_store",
    description="Out-of-sample evaluation of every candidate (AUC, Brier, VaR backtest, "
    "counterfactual size cuts vs the rules baseline, oracle capture on the simulator) and the "
    "champion of each trader.",
)
def model_evaluation(context: dg.AssetExecutionContext, lake: LakeResource,
                     evaluation_settings: EvaluationSettings) -> dg.MaterializeResult:
    predictions = read_predictions(lake.lake)
    labels = lake.lake.read_df("risk_labels", "date")
    models_root = lake.root / MODELS_DIR
    cfg = evaluation_settings.config()
    evaluation = champions = truth = None
    if len(predictions):
        truth = _read_truth(lake.lake)
        evaluation = evaluate(predictions, labels, truth, cfg)
        champions = select_champions(evaluation, cfg)
    champions = _with_fallbacks(champions or {}, _traders(lake.lake), models_root)
    var_numbers = {}
    if evaluation is not None:  # the champion's VaR, calibrated on its out-of-sample rows
        var_numbers = _calibrate_var(evaluation, champions)
    champions = _write_champions(champions, models_root, context.run_id)
    complete = labels[labels["label_status"] == "complete"]
    common = {"labelled_rows": len(complete),
              "large_loss_days": int(complete["large_loss"].fillna(0).astype(int).sum()),
              "champions": dg.MetadataValue.json({t: d.get("chosen") for t, d in champions.items()})}
    if evaluation is None:  # nothing could be validated out of sample: say so, serve the rules
        context.log.warning("no out-of-sample predictions: history too short to validate models")
        return dg.MaterializeResult(metadata={**common, "evaluated": False, "note": (
            "no model could be validated out of sample (too little history); recommendations "
            "use the rules baseline")})
    out_dir = lake.root / REPORTS_DIR / "model_evaluation" / dt.date.today().isoformat()
    as_of = _as_of(labels)
    report = write_reports(evaluation, out_dir, importance=champion_importance(champions),
                           champions=champions,
                           title=f"Model evaluation, every candidate (labels to {as_of})")
    common.update(_champion_numbers(predictions, labels, truth, champions, cfg, out_dir))
    common.update(_var_metadata(var_numbers, out_dir))
    lake.lake.write_table("model_evaluation", evaluation.per_trader)
    numbers = {k: v for k, v in report["key_numbers"].items() if v is not None}
    return dg.MaterializeResult(metadata={
        **common, "evaluated": True,
        **{k: float(v) if isinstance(v, float) else v for k, v in numbers.items()},
        **report_links(lake, report_html=report["paths"]["html"],
                       champions_report_html=out_dir / "champions" / "evaluation.html",
                       reports_folder=out_dir),
        "report_markdown": dg.MetadataValue.md(Path(report["paths"]["markdown"]).read_text()[:20000]),
        "firm": markdown_table(evaluation.firm)})


def champion_importance(champions: dict) -> pd.DataFrame | None:
    """Gain importance of each LightGBM champion's classifier (one row per model and feature),
    for the report's feature-importance chart."""
    from risk_dagster.models import load_model

    rows, seen = [], set()
    for decision in champions.values():
        path = decision.get("path")
        if not path or path in seen or decision.get("chosen") not in ("pooled_lgbm", "trader_lgbm"):
            continue
        seen.add(path)
        model = load_model(path)  # boosters were fitted on arrays: names come from the model
        gains = model.boosters["classifier"].feature_importance("gain")
        rows += [{"model": path, "feature": f, "importance": float(g)}
                 for f, g in zip(model.input_names, gains, strict=True)]
    return pd.DataFrame(rows) if rows else None


def champion_predictions(predictions: pd.DataFrame, champions: dict) -> pd.DataFrame:
    """Each trader's out-of-sample rows of its chosen family, as one model named 'champion',
    plus the rules baseline's rows (the benchmark)."""
    chosen = pd.Series({t: d.get("chosen") for t, d in champions.items()}, name="chosen")
    rows = predictions.merge(chosen.rename_axis("trader_id").reset_index(), on="trader_id")
    champion = rows[rows["model"] == rows["chosen"]].assign(model="champion")
    return pd.concat([champion, predictions[predictions["model"] == "rules"]],
                     ignore_index=True).drop(columns="chosen")


def _champion_numbers(predictions, labels, truth, champions, cfg, out_dir: Path) -> dict:
    """Firm-wide out-of-sample figures of the champions against the rules baseline. The
    champion was picked on these same rows, so its figures are slightly optimistic."""
    evaluation = evaluate(champion_predictions(predictions, champions), labels, truth, cfg)
    report = write_reports(evaluation, out_dir / "champions",
                           title=f"Model evaluation, champions vs rules (labels to {_as_of(labels)})")
    numbers = report["key_numbers"]
    keep = ("champion_auc", "champion_brier", "champion_oracle_auc", "champion_oracle_capture",
            "champion_net_benefit_usd", "rules_auc", "rules_net_benefit_usd")
    return {k: float(numbers[k]) for k in keep if numbers.get(k) is not None}


def _calibrate_var(evaluation, champions: dict) -> dict:
    """Add each champion's VaR scale to its decision (``var_calibration``) and return the
    walk-forward violation figures before and after calibration (see var_calibration.py)."""
    chosen = {t: d.get("chosen") for t, d in champions.items()}
    rows = evaluation.rows
    rows = rows[rows["model"] == rows["trader_id"].map(chosen)]
    cfg = VarCalibrationConfig(level=evaluation.config.var_level)
    for tid, entry in serving_scales(rows, cfg, traders=list(champions)).items():
        champions[tid]["var_calibration"] = entry
    rows = rows.join(walk_forward_scales(rows, cfg))
    raw, raw_per = violation_report(rows, "var_05", cfg.level)
    used = rows[rows["var_scope"] != "none"]  # rows with a calibration set before them
    cal, cal_per = violation_report(used, "var_05_calibrated", cfg.level)
    per = raw_per[["trader_id", "var_n", "var_violation_rate"]].merge(
        cal_per[["trader_id", "var_n", "var_violation_rate", "kupiec_p"]], on="trader_id",
        how="left", suffixes=("_raw", "_calibrated"))
    return {"raw": raw, "calibrated": cal, "per_trader": per, "config": cfg.to_dict()}


def _var_metadata(numbers: dict, out_dir: Path) -> dict:
    if not numbers:
        return {}
    raw, cal, per = numbers["raw"], numbers["calibrated"], numbers["per_trader"]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "var_calibration.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"raw": raw, "calibrated": cal, "config": numbers["config"],
                               "per_trader": per.to_dict(orient="records")}, indent=2,
                              default=float))
    tmp.replace(path)
    return {
        "var_violation_rate_raw": float(raw["var_violation_rate"]),
        "var_kupiec_p_raw": float(raw["kupiec_p"]),
        "var_violation_rate_calibrated": float(cal["var_violation_rate"]),
        "var_kupiec_p_calibrated": float(cal["kupiec_p"]),
        "var_calibrated_rows": int(cal["var_n"]),
        "var_per_trader": markdown_table(per.round(4), max_rows=60),
        "var_calibration_json": dg.MetadataValue.path(str(path))}


def _as_of(labels: pd.DataFrame) -> str:
    """The last trade date with a complete label (the evaluation's data as-of date)."""
    complete = labels.loc[labels["label_status"] == "complete", "trade_date"]
    return str(pd.Timestamp(complete.max()).date()) if len(complete) else "none"


def _traders(lake) -> list[str]:
    con = lake.connect(["trader_features"])
    return [r[0] for r in con.execute("SELECT DISTINCT trader_id FROM trader_features ORDER BY 1").fetchall()]


def _with_fallbacks(champions: dict, traders: list[str], models_root: Path) -> dict:
    """Traders without a validated champion (no out-of-sample rows: history too short, or they
    left early) are served by the pooled model, else by their own rules model, else nothing
    (the recommendations then use the built-in rules baseline and say so)."""
    out = dict(champions)
    for tid in traders:
        if out.get(tid, {}).get("chosen") is None:
            family = next((f for f in ("pooled_lgbm", "rules")
                           if _champion_path(models_root, tid, f)), None)
            out[tid] = {**out.get(tid, {}), "chosen": family, "candidates": [],
                        "reason": "no out-of-sample rows for this trader: fallback "
                        + (family or "none (built-in rules baseline)")}
    return out


def _write_champions(champions: dict, models_root: Path, run_id: str) -> dict:
    """Write each trader's champion pointer; returns the decisions with their model paths."""
    decided_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    out = {}
    for trader_id, decision in champions.items():
        out[trader_id] = decision
        if decision.get("chosen") is None:
            continue
        out[trader_id] = {**decision, "family": decision["chosen"], "decided_at": decided_at,
                          "run_id": run_id,
                          "path": _champion_path(models_root, trader_id, decision["chosen"])}
        write_champion(models_root, trader_id, out[trader_id])
    return out


@dg.asset_check(asset="model_evaluation",
                description="Every trader with features has a champion pointing at a stored model "
                "(a warning: traders without one are scored by the rules baseline).")
def check_every_trader_has_a_champion(lake: LakeResource) -> dg.AssetCheckResult:
    con = lake.lake.connect(["trader_features"])
    traders = [r[0] for r in con.execute("SELECT DISTINCT trader_id FROM trader_features").fetchall()]
    missing = []
    for tid in traders:
        champ = read_champion(lake.root / MODELS_DIR, tid)
        if not champ or not champ.get("path") or not Path(champ["path"]).exists():
            missing.append(tid)
    return dg.AssetCheckResult(passed=not missing, severity=dg.AssetCheckSeverity.WARN, metadata={
        "traders": len(traders), "without_champion": json.dumps(missing[:50])})
