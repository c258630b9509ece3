"""The morning product: risk scores per trader, then trade recommendations published only when
the blocking checks pass, with the live files, the history and notifications.

Partition D holds what is known at the close of D; recommendations are for the next session.
A date range runs as one run (single-run backfill), date by date.
"""

import datetime as dt
import time

import dagster as dg
import pandas as pd

from risk_dagster.core import progress
from risk_dagster.core.calendar import sessions
from risk_dagster.core.tables import (
    read_feature_history,
    read_latest_features,
    read_pnl_history,
    write_dates,
)
from risk_dagster.defs.metadata import markdown_table, report_links
from risk_dagster.defs.partitions import partition_dates, single_run
from risk_dagster.defs.resources import (
    LakeResource,
    NotifierResource,
    RecommendationSettings,
    TradeSource,
)
from risk_dagster.features import feature_catalog
from risk_dagster.models.fleet import MODELS_DIR
from risk_dagster.recommendations import (
    RECOMMENDATIONS,
    ModelInfo,
    publish_checks,
    recommend,
    to_audit_json,
)
from risk_dagster.recommendations import risk_scores as compute_risk_scores
from risk_dagster.recommendations.outputs import append_history, write_live_outputs
from risk_dagster.scoring import score_with_champions

_OWNERS = ["team:risk-desk"]
PUBLISH_CHECKS = ["check_every_active_trader_once", "check_values_in_range",
                  "check_hard_limits_enforced", "check_model_freshness", "check_data_freshness"]


def next_session(calendar: str, day: dt.date) -> dt.date:
    """The session the morning's recommendations are for."""
    return sessions(calendar, day + dt.timedelta(days=1), day + dt.timedelta(days=10))[0].date()


def score_day(lake_root, lake, day: dt.date) -> tuple[pd.DataFrame, dict]:
    """(scores, champion details) for the close of ``day``."""
    latest = read_latest_features(lake, day)
    champions = score_with_champions(latest, lambda cols: read_feature_history(lake, day, cols),
                                     day, lake_root / MODELS_DIR)
    info = {**champions.model_info, "*": ModelInfo("rules_baseline", "builtin", day)}
    scores = compute_risk_scores(latest, champions.predictions, champions.contributions,
                                 feature_catalog(), info)
    in_sample = sum(mi.trained_on > day for mi in champions.model_info.values())
    return scores, {"without_champion": len(champions.missing),
                    "champion_trained_after_date": in_sample}


def _risk_scores(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    started, dates, frames, notes = time.perf_counter(), partition_dates(context), [], {}
    for day in progress.track(dates, "risk_scores", "dates"):
        scores, notes = score_day(lake.root, lake.lake, day)
        frames.append(scores)
        write_dates(lake.lake, "risk_scores", scores, [day])
    scores = pd.concat(frames, ignore_index=True)
    return dg.MaterializeResult(metadata={
        "dates": len(dates), "rows": len(scores), "seconds": round(time.perf_counter() - started, 2),
        **notes, "mean_p_large_loss": float(scores["p_large_loss"].mean()) if len(scores) else 0.0,
        "by_family": dg.MetadataValue.json(scores["model_family"].value_counts().to_dict()),
        "top_risks_last_date": markdown_table(frames[-1].sort_values("risk_score", ascending=False)[
            ["trader_id", "risk_score", "p_large_loss", "model_family", "reasons"]], max_rows=15)})


def _notify(notifier: NotifierResource, day: dt.date, recs: pd.DataFrame, summary: dict) -> dict:
    halted = recs[recs["level"] == "halt"]
    lines = [f"{t}: {'; '.join(r)}" for t, r in zip(halted["trader_id"], halted["reasons"])]
    body = (f"Risk recommendations for {day}: " + ", ".join(
        f"{k} {v}" for k, v in summary["counts"].items() if v) + ("\n\nHALTED\n" + "\n".join(lines)
                                                               if lines else ""))
    result = notifier.notify(f"Risk desk {day}" + (" — KILL SWITCH" if lines else ""), body,
                             always=bool(lines))
    return {c.channel: c.status for c in result.channels}


def _trade_recommendations(context: dg.AssetExecutionContext, lake: LakeResource,
                           source: TradeSource, recommendation_settings: RecommendationSettings,
                           notifier: NotifierResource):
    cfg = recommendation_settings.to_config()
    published, counts = [], {}
    for day in progress.track(partition_dates(context), "trade_recommendations", "dates"):
        started = time.perf_counter()
        today = next_session(source.calendar, day)
        scores = lake.lake.read_df("risk_scores", "date", [day.isoformat()])
        features = read_latest_features(lake.lake, day)  # the rules read each trader's latest row
        pnl = read_pnl_history(lake.lake, day, source.calendar, cfg.history_sessions)
        recs, summary = recommend(scores, features, pnl, cfg, today=today, calendar=source.calendar)
        active = scores["trader_id"].tolist()
        checks = publish_checks(recs, active, cfg, today=today, calendar=source.calendar)
        failed = [c for c in checks if not c.passed]
        if failed:  # not published: the live folder and the history stay as they were
            raise dg.Failure(description=f"recommendations for {today} not published: " + "; ".join(
                f"{c.name}: {c.detail}" for c in failed))
        audit = to_audit_json(recs, summary, cfg, today=today, checks=checks,
                              inputs={"scores": scores, "features": features, "pnl_history": pnl})
        lake.lake.write("trade_recommendations", "date", day.isoformat(), RECOMMENDATIONS.to_arrow(recs))
        monitoring = {"data_date": day.isoformat(), "for_date": today.isoformat(),
                      "run_id": context.run_id, "checks": [vars(c) for c in checks],
                      "notifications": _notify(notifier, today, recs, summary),
                      "seconds": round(time.perf_counter() - started, 2)}
        append_history(lake.root, today, recs)
        paths = write_live_outputs(lake.root, today, recs, summary, audit, monitoring, pnl_history=pnl)
        published.append(str(paths["csv"]))
        counts = summary["counts"]
    yield dg.MaterializeResult(metadata={
        "published": len(published),
        **report_links(lake, latest_report=paths["html"], latest_csv=paths["csv"],
                       live_folder=paths["html"].parent.parent),
        "levels_latest": dg.MetadataValue.json(counts)})
    for name in PUBLISH_CHECKS:
        result = next(c for c in checks if c.name == name)
        yield dg.AssetCheckResult(check_name=name, passed=result.passed,
                                  metadata={"detail": result.detail})


def build_recommendation_assets(date_partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """Risk scores and trade recommendations on ``date_partitions``."""
    risk_scores = dg.asset(
        name="risk_scores",
        deps=["trader_features", "model_evaluation"], partitions_def=date_partitions,
        backfill_policy=single_run, group_name="recommendations", kinds={"lightgbm", "parquet"},
        owners=_OWNERS,
        description="Each active trader scored with its current champion for the next session: "
        "calibrated large-loss probability, expected P&L, 5% VaR, risk score 0-100, model version, "
        "top reasons in plain words (from LightGBM pred_contrib).",
    )(_risk_scores)
    trade_recommendations = dg.asset(
        name="trade_recommendations",
        deps=[risk_scores, "trader_day_panel"], partitions_def=date_partitions,
        backfill_policy=single_run, group_name="recommendations", kinds={"plotly", "csv"},
        owners=_OWNERS,
        check_specs=[dg.AssetCheckSpec(n, asset="trade_recommendations", blocking=True)
                     for n in PUBLISH_CHECKS],
        description="Per trader: level (normal / warn / reduce / close-only / halt), size multiplier, "
        "daily loss limit, max position notional and reasons, with hard rules overriding the model; "
        "published to <data>/live/<date>/ only when every blocking check passes.",
    )(_trade_recommendations)
    return [risk_scores, trade_recommendations]
