"""Monitoring: per date, the drift of every champion's inputs and predictions against its
training window, and its live performance as labels arrive.

Partitioned by date (one partition holds every trader): at 3 years that is ~760 partitions,
far under Dagster's ~100k limit, and a daily check is what detects a change within a week.
"""

import dagster as dg
import pandas as pd

from risk_dagster.core.tables import read_feature_history, write_dates
from risk_dagster.defs.metadata import markdown_table
from risk_dagster.defs.partitions import partition_dates, single_run
from risk_dagster.defs.resources import LakeResource, MonitoringSettings, TradeSource
from risk_dagster.models.fleet import MODELS_DIR
from risk_dagster.monitoring.champions import (DriftCache, champion_drift_report,
                                               last_drift_retrains)

REPORTS_DIR = "reports"


def _drift_report(context: dg.AssetExecutionContext, lake: LakeResource, source: TradeSource,
                  monitoring: MonitoringSettings) -> dg.MaterializeResult:
    cfg = monitoring.config()
    labels = lake.lake.read_df("risk_labels", "date")
    last_retrain = last_drift_retrains(lake.lake)
    dates = partition_dates(context)
    # read once for the whole range: every trader with a row on any of its dates
    history = read_feature_history(lake.lake, max(dates), since=min(dates))
    frames, cache = [], DriftCache()  # champions and reference calibrations, for every date
    for day in dates:
        html_dir = lake.root / REPORTS_DIR / "drift" / day.isoformat()
        report = champion_drift_report(history[history["trade_date"] <= day], labels, day,
                                       lake.root / MODELS_DIR, cfg, calendar=source.calendar,
                                       last_retrain=last_retrain, engine=monitoring.engine,
                                       html_dir=html_dir, cache=cache)
        write_dates(lake.lake, "drift_report", report, [day])
        frames.append(report)
    last = frames[-1]
    checked = last[last["status"] == "checked"]
    flagged = last[last["retrain"]]
    return dg.MaterializeResult(metadata={
        "traders_checked": len(checked),
        "drifted": int(checked["drifted"].sum()) if len(checked) else 0,
        "drifted_share": float(checked["drifted"].mean()) if len(checked) else 0.0,
        "decayed": int(checked["decayed"].sum()) if len(checked) else 0,
        "retrain_requested": len(flagged),
        "engine": monitoring.engine,
        "flagged": markdown_table(flagged[["trader_id", "retrain_reason", "retrain_detail",
                                           "report_html"]] if len(flagged) else flagged),
        "per_trader": markdown_table(_per_trader(checked)),
        "reports_dir": dg.MetadataValue.path(str(lake.root / REPORTS_DIR / "drift"))})


def _per_trader(checked: pd.DataFrame, top: int = 25):
    """Drift and live performance of the ``top`` traders by drift score, for the UI."""
    cols = ["trader_id", "drift_score", "drift_share", "drifted", "live_n", "live_auc",
            "training_auc", "live_brier", "training_brier", "live_rank_ic", "live_cf_benefit_usd"]
    if checked.empty:
        return checked
    return checked.sort_values("drift_score", ascending=False)[cols].head(top).round(4)


def build_monitoring_assets(date_partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The drift report on ``date_partitions``."""
    drift_report = dg.asset(
        name="drift_report",
        deps=["trader_features", "risk_labels", "model_evaluation"], partitions_def=date_partitions,
        backfill_policy=single_run, group_name="monitoring", kinds={"evidently", "parquet"},
        owners=["team:risk-engineering"],
        description="Per trader: KS drift of the champion's features and predictions (p-values "
        "calibrated on the training window) and a shift test of its activity and size given its "
        "state, Benjamini-Hochberg across all tests; live AUC/Brier decay; whether to retrain. "
        "Evidently HTML reports for drifted traders.",
    )(_drift_report)
    return [drift_report]
