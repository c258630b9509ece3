"""Model assets: the pooled model, per-trader candidates, and the evaluation that picks each
trader's champion. Retrained weekly; one trader can be retrained alone (retrain_trader_job)."""

import datetime as dt
import json
import time
from pathlib import Path

import dagster as dg
import pandas as pd

from risk_dagster.core.desk_table import DeskColumn, cut_text
from risk_dagster.core.report_dirs import report_dir, write_latest
from risk_dagster.defs.compute import ComputeResource
from risk_dagster.defs.metadata import (
    MD_MAX_CHARS,
    TABLE_MAX_ROWS,
    desk_table,
    markdown_table,
    per_partition_results,
    report_link,
    report_links,
)
from risk_dagster.defs.partitions import single_run, trader_partitions
from risk_dagster.defs.resources import EvaluationSettings, LakeResource, ModelSettings
from risk_dagster.evaluation import evaluate, select_champions, write_reports
from risk_dagster.evaluation.champions import (
    champion_importance,
    champion_model_path,
    champion_predictions,
    read_champion,
    with_fallbacks,
    write_champions,
)
from risk_dagster.evaluation.summary import (CHAMPION_COLUMNS, champion_table, headline, key_figures,
                                             var_figures, var_per_trader)
from risk_dagster.evaluation.var_calibration import calibrate_champions, write_var_report
from risk_dagster.models.fleet import (
    MODELS_DIR,
    read_predictions,
    train_pooled,
    train_traders,
)
from risk_dagster.monitoring.drift_report import RETRAIN_LOG

_OWNERS = ["team:risk-engineering"]
# a trader's models read every date of the features and labels
_ALL_DATES = [dg.AssetDep(k, partition_mapping=dg.AllPartitionMapping())
              for k in ("trader_features", "risk_labels")]


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
        "auc": round(float(summary["cv"].get("pooled_lgbm", {}).get("auc") or 0.0), 3),
        "model_path": dg.MetadataValue.path(summary["paths"].get("pooled_lgbm", ""))})


@dg.asset(
    deps=_ALL_DATES, partitions_def=trader_partitions,
    backfill_policy=single_run, group_name="models", kinds={"lightgbm", "optuna"}, owners=_OWNERS,
    description="Per trader: logistic and rules baselines and, with enough history, a LightGBM; "
    "out-of-sample predictions from purged walk-forward folds.",
)
def trader_models(context: dg.AssetExecutionContext, lake: LakeResource, models: ModelSettings,
                  compute: ComputeResource):
    traders = list(context.partition_keys)
    started = time.perf_counter()
    with compute.pool() as pool:
        context.log.info(f"training {len(traders)} traders on {pool.name}")
        summaries = train_traders(str(lake.root), traders, models.training_config(), pool=pool,
                                  tasks_per_slot=compute.tasks_per_slot)
    _log_drift_retrain(context, lake, traders)
    per_trader = {s["owner"]: _trader_model_metadata(s) for s in summaries}
    with_lgbm = sum("trader_lgbm" in s["families"] for s in summaries)
    yield from per_partition_results(context.asset_key, traders, {
        "traders": len(traders), "seconds": round(time.perf_counter() - started, 1),
        "compute": pool.name,
        "trader_seconds_sum": round(float(sum(s["seconds"] for s in summaries)), 1),
        "trader_seconds_max": round(max((float(s["seconds"]) for s in summaries), default=0.0), 1),
        "worker_peak_rss_mb": max((s["peak_rss_mb"] or 0.0 for s in summaries), default=0.0),
        "with_trader_lgbm": with_lgbm}, per_trader)


def _trader_model_metadata(summary: dict) -> dict:
    """One trader's training: the families fitted and their out-of-sample AUC (3 digits)."""
    aucs = {f"auc_{family}": round(float(m["auc"]), 3) for family, m in summary["cv"].items()
            if m.get("auc") is not None}
    return {"families": ", ".join(summary["families"]) or "none",
            "oos_rows": int(summary["oos_rows"]), "training_seconds": round(summary["seconds"], 1),
            **aucs}


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
    champions = with_fallbacks(champions or {}, _traders(lake.lake), models_root)
    var_numbers = {}
    if evaluation is not None:  # the champion's VaR, calibrated on its out-of-sample rows
        var_numbers = calibrate_champions(evaluation.rows, champions,
                                          evaluation.config.var_level)
    champions = write_champions(champions, models_root, context.run_id)
    complete = labels[labels["label_status"] == "complete"]
    common = {"labelled_rows": len(complete),
              "large_loss_days": int(complete["large_loss"].fillna(0).astype(int).sum()),
              **_champions_metadata(champions)}
    if evaluation is None:  # nothing could be validated out of sample: say so, serve the rules
        context.log.warning("no out-of-sample predictions: history too short to validate models")
        return dg.MaterializeResult(metadata={**common, "evaluated": False, "note": (
            "no model could be validated out of sample (too little history); recommendations "
            "use the rules baseline")})
    as_of = max(predictions["trade_date"])
    out_dir = report_dir(lake.root, "model_evaluation", as_of, context.run_id)
    report = write_reports(evaluation, out_dir,
                           importance=champion_importance(champions, models_root),
                           champions=champions,
                           title=f"Model evaluation, every candidate (as of {as_of})")
    champion_numbers = _champion_numbers(predictions, labels, truth, champions, cfg, out_dir)
    common.update(_var_metadata(var_numbers, out_dir))
    write_latest(lake.root, "model_evaluation", out_dir, as_of=as_of, run_id=context.run_id)
    lake.lake.write_table("model_evaluation", evaluation.per_trader)
    champions_html = out_dir / "champions" / "evaluation.html"
    links = report_links(lake, report=report["paths"]["html"], reports_folder=out_dir,
                         **({"champions_report": champions_html} if champions_html.exists() else {}))
    return dg.MaterializeResult(metadata={
        **evaluation_metadata(common, report, champion_numbers, as_of, out_dir), **links})


def _champions_metadata(champions: dict) -> dict:
    """Each trader's champion and its out-of-sample figures, as a UI table."""
    table = champion_table(champions)
    shown = min(len(table), TABLE_MAX_ROWS)
    return {"champions": desk_table(table, CHAMPION_COLUMNS),
            "champions_shown": f"{shown:,} of {len(table):,} traders, by trader id"
            + ("" if shown == len(table) else "; all of them in the report's JSON")}


def evaluation_metadata(common: dict, report: dict, champion_numbers: dict, as_of: dt.date,
                        out_dir: Path) -> dict:
    """The evaluation's metadata: headline figures as rounded numbers (one point per run in the
    Plots tab), every key number rounded with its unit, the report's Markdown cut at a stated
    line below the UI's limit, and the report files."""
    md_path = Path(report["paths"]["markdown"])
    figures = key_figures({**report["key_numbers"], **champion_numbers})
    return {
        **common, "evaluated": True, "as_of": as_of.isoformat(),
        **headline(champion_numbers),
        "key_figures": desk_table(figures, _FIGURE_COLUMNS, max_rows=len(figures)),
        "report_html": report_link(report["paths"]["html"]),
        "report_markdown_file": report_link(md_path),
        "report_folder": report_link(out_dir),
        "report_markdown": dg.MetadataValue.md(cut_text(
            md_path.read_text(), MD_MAX_CHARS, f"The whole report: {md_path}")),
    }


_FIGURE_COLUMNS = (DeskColumn("figure", "string", "key number of the evaluation"),
                   DeskColumn("value", "string", "rounded"), DeskColumn("unit", "string", "unit"))


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


def _var_metadata(numbers: dict, out_dir: Path) -> dict:
    if not numbers:
        return {}
    path = write_var_report(numbers, out_dir)
    return {
        **var_figures(numbers["raw"], numbers["calibrated"]),
        "var_violations_conformal_only_pct": round(
            100 * float(numbers["conformal"]["var_violation_rate"]), 2),
        "var_multiplier": round(float(numbers["multiplier"]["multiplier"]), 4),
        "var_multiplier_as_of": str(numbers["multiplier"]["multiplier_as_of"]),
        "var_per_trader": markdown_table(var_per_trader(numbers["per_trader"]), max_rows=60),
        "var_calibration_json": dg.MetadataValue.path(str(path))}


def _as_of(labels: pd.DataFrame) -> str:
    """The last trade date with a complete label (the evaluation's data as-of date)."""
    complete = labels.loc[labels["label_status"] == "complete", "trade_date"]
    return str(pd.Timestamp(complete.max()).date()) if len(complete) else "none"


def _traders(lake) -> list[str]:
    con = lake.connect(["trader_features"])
    return [r[0] for r in con.execute("SELECT DISTINCT trader_id FROM trader_features ORDER BY 1").fetchall()]


@dg.asset_check(asset="model_evaluation",
                description="Every trader with features has a champion pointing at a stored model "
                "(a warning: traders without one are scored by the rules baseline).")
def check_every_trader_has_a_champion(lake: LakeResource) -> dg.AssetCheckResult:
    con = lake.lake.connect(["trader_features"])
    traders = [r[0] for r in con.execute("SELECT DISTINCT trader_id FROM trader_features").fetchall()]
    models_root, missing = lake.root / MODELS_DIR, []
    for tid in traders:
        if champion_model_path(models_root, read_champion(models_root, tid)) is None:
            missing.append(tid)
    return dg.AssetCheckResult(passed=not missing, severity=dg.AssetCheckSeverity.WARN, metadata={
        "traders": len(traders), "without_champion": json.dumps(missing[:50])})
