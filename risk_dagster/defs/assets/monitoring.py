"""Monitoring: per date, the drift of every champion's inputs and predictions against its
training window, and its live performance as labels arrive.

Partitioned by date (one partition holds every trader): at 3 years that is ~760 partitions,
far under Dagster's ~100k limit, and a daily check is what detects a change within a week.
"""

import dagster as dg
import pandas as pd

from risk_dagster.core import progress
from risk_dagster.core.tables import read_feature_history, write_dates
from risk_dagster.defs.metadata import markdown_link, markdown_table, report_links
from risk_dagster.defs.partitions import partition_dates, single_run
from risk_dagster.defs.resources import LakeResource, MonitoringSettings, TradeSource
from risk_dagster.models.fleet import MODELS_DIR
from risk_dagster.monitoring.drift_report import (REFERENCE_FITS, DriftCache,
                                                  champion_drift_report, empty_drift_report,
                                                  last_drift_retrains)
from risk_dagster.reporting.links import report_url

REPORTS_DIR = "reports"


def _drift_report(context: dg.AssetExecutionContext, lake: LakeResource, source: TradeSource,
                  monitoring: MonitoringSettings) -> dg.MaterializeResult:
    cfg = monitoring.config()
    labels = lake.lake.read_df("risk_labels", "date")
    last_retrain = last_drift_retrains(lake.lake)
    dates = partition_dates(context)
    # read once for the whole range: every trader with a row on any of its dates
    history = read_feature_history(lake.lake, max(dates), since=min(dates))
    # champions and reference calibrations for every date; the fits also from earlier runs
    frames, cache = [], DriftCache(store=lake.root / REFERENCE_FITS)
    skipped: dict[str, str] = {}  # date -> why nothing was checked on it
    for day in progress.track(dates, "drift_report", "dates"):
        html_dir = lake.root / REPORTS_DIR / "drift" / day.isoformat()
        try:
            report = champion_drift_report(history[history["trade_date"] <= day], labels, day,
                                           lake.root / MODELS_DIR, cfg, calendar=source.calendar,
                                           last_retrain=last_retrain, engine=monitoring.engine,
                                           html_dir=html_dir, cache=cache)
        except Exception as exc:  # one bad date is recorded and skipped, never sinks the range
            context.log.error(f"drift_report {day}: {type(exc).__name__}: {exc}")
            skipped[day.isoformat()] = f"failed: {type(exc).__name__}: {exc}"[:500]
            continue
        if report.empty:
            skipped[day.isoformat()] = skip_reason_for_empty_date(day, source.calendar)
        write_dates(lake.lake, "drift_report", report, [day])
        frames.append(report)
    pruned = cache.prune()
    return dg.MaterializeResult(metadata={
        **drift_metadata(frames, skipped, lake, monitoring.engine),
        "reference_fits_read": cache.stored, "reference_fits_written": cache.written,
        "reference_fits_removed": pruned})


def skip_reason_for_empty_date(day, calendar: str) -> str:
    """Why a date has no trader to check: not a session, or no feature row on it."""
    from risk_dagster.core.calendar import is_session

    if not is_session(calendar, day):
        return f"not a session of the {calendar} calendar (exchange holiday or weekend)"
    return "no trader has a feature row on this date (no data ingested for it)"


def drift_metadata(frames: list[pd.DataFrame], skipped: dict[str, str], lake: LakeResource,
                   engine: str) -> dict:
    """Headline numbers of the last date with traders, plus every skipped date and trader."""
    reports = [f for f in frames if len(f)]
    last = reports[-1] if reports else empty_drift_report()
    checked = last[last["status"] == "checked"]
    flagged = last[last["retrain"].astype(bool)]
    untested = last[last["skip_reason"].notna()]
    return {
        "last_date": str(last["trade_date"].iloc[0]) if len(last) else None,
        "traders_checked": len(checked),
        "drifted": int(checked["drifted"].astype(bool).sum()) if len(checked) else 0,
        "drifted_share": float(checked["drifted"].astype(float).mean()) if len(checked) else 0.0,
        "decayed": int(checked["decayed"].astype(bool).sum()) if len(checked) else 0,
        "retrain_requested": len(flagged),
        "engine": engine,
        "dates_skipped": len(skipped),
        "skipped_dates": dg.MetadataValue.json(skipped),
        "traders_not_drift_tested": markdown_table(untested[["trader_id", "status",
                                                             "skip_reason"]]),
        "flagged": markdown_table(_with_report_links(
            flagged[["trader_id", "retrain_reason", "retrain_detail", "report_html"]], lake)),
        "per_trader": markdown_table(_per_trader(checked)),
        **report_links(lake, reports_dir=lake.root / REPORTS_DIR / "drift")}


def _with_report_links(flagged: pd.DataFrame, lake: LakeResource) -> pd.DataFrame:
    """The flagged table with each Evidently report as a link on the report server (when one is
    configured), else as its path."""
    if not lake.reports_url:
        return flagged
    links = [markdown_link(f"{t} drift report", report_url(lake.reports_url, lake.root, p))
             if isinstance(p, str) and p else "" for t, p in zip(flagged["trader_id"],
                                                               flagged["report_html"])]
    return flagged.assign(report_html=links)


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
