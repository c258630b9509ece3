"""The morning product: risk scores per trader, then trade recommendations published only when
the blocking checks pass, with the live files, the history and notifications.

Partition D holds what is known at the close of D; recommendations are for the next session.
A date range runs as one run (single-run backfill), date by date.
"""

import datetime as dt
import inspect
import math
import time

import dagster as dg
import pandas as pd

from risk_dagster.core import progress
from risk_dagster.core.calendar import sessions
from risk_dagster.core.tables import (
    read_end_balances,
    read_feature_history,
    read_latest_features,
    read_live_multiplier,
    read_pnl_history,
    read_published_outcomes,
    write_dates,
)
from risk_dagster.defs.metadata import (
    TABLE_MAX_ROWS,
    desk_table,
    per_partition_results,
    report_link,
    report_links,
    shown_note,
)
from risk_dagster.defs.partitions import partition_dates, single_run
from risk_dagster.defs.resources import (
    LakeResource,
    NotifierResource,
    RecommendationSettings,
    TradeSource,
)
from risk_dagster.evaluation.var_calibration import Multiplier
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
from risk_dagster.recommendations import checks as publish_checks_module
from risk_dagster.recommendations.desk_view import (
    RECOMMENDATION_COLUMNS,
    SCORE_COLUMNS,
    level_counts,
    model_label,
    recommendations_table,
    scores_table,
)
from risk_dagster.recommendations.outputs import append_history, write_live_outputs
from risk_dagster.recommendations.scores import SOURCE_MODEL
from risk_dagster.scoring import score_with_champions

_OWNERS = ["team:risk-desk"]
PUBLISH_CHECKS = ["check_every_active_trader_once", "check_values_in_range",
                  "check_hard_limits_enforced", "check_model_freshness", "check_data_freshness"]


def next_session(calendar: str, day: dt.date) -> dt.date:
    """The session the morning's recommendations are for."""
    return sessions(calendar, day + dt.timedelta(days=1), day + dt.timedelta(days=10))[0].date()


def score_day(lake_root, lake, day: dt.date) -> tuple[pd.DataFrame, dict]:
    """(scores, champion details) for the close of ``day``. Each model-scored row carries the
    firm-wide VaR multiplier it was published with (``var_multiplier``, and
    ``var_multiplier_as_of``: the last outcome date it counted), which the next date's scores
    move on from."""
    latest = read_latest_features(lake, day)
    carried = read_live_multiplier(lake, day, SOURCE_MODEL)
    champions = score_with_champions(
        latest, lambda cols: read_feature_history(lake, day, cols), day, lake_root / MODELS_DIR,
        lambda after: read_published_outcomes(lake, after, day, SOURCE_MODEL),
        carried=Multiplier(math.log(carried[0]), carried[1]) if carried else None)
    info = {**champions.model_info, "*": ModelInfo("rules_baseline", "builtin", day)}
    scores = compute_risk_scores(latest, champions.predictions, champions.contributions,
                                 feature_catalog(), info)
    by_model = scores["score_source"] == SOURCE_MODEL
    as_of = champions.var_multiplier.get("multiplier_as_of")
    scores["var_multiplier"] = float(champions.var_multiplier.get("multiplier", 1.0))
    scores["var_multiplier_as_of"] = pd.Timestamp(as_of) if as_of else pd.NaT
    scores["var_multiplier_as_of"] = scores["var_multiplier_as_of"].astype("datetime64[ns]")
    scores.loc[~by_model, "var_multiplier"] = float("nan")
    scores.loc[~by_model, "var_multiplier_as_of"] = pd.NaT
    in_sample = sum(mi.trained_on > day for mi in champions.model_info.values())
    return scores, {"without_champion": len(champions.missing),
                    "champion_trained_after_date": in_sample,
                    "var_multiplier": round(champions.var_multiplier.get("multiplier", 1.0), 4),
                    "var_multiplier_note": _multiplier_note(champions.var_multiplier)}


def _multiplier_note(entry: dict) -> str:
    """Where the day's VaR multiplier comes from, in words."""
    if not entry or entry.get("multiplier_as_of") is None:
        return "no VaR multiplier yet (no evaluation tracked one): 1.0"
    start = (f"{entry['start']:.3f} carried from the previous scores"
             if entry.get("start_from") == "previous scores"
             else f"{entry['start']:.3f} from the last evaluation")
    return (f"firm-wide VaR multiplier {entry['multiplier']:.3f}: {start} (the evaluation's "
            f"{entry['at_training']:.3f}), moved by {entry['outcomes_counted']} published "
            f"outcomes since, the last labelled {entry['multiplier_as_of']}")


def _risk_scores(context: dg.AssetExecutionContext, lake: LakeResource):
    started, dates, per_date, rows = time.perf_counter(), partition_dates(context), {}, 0
    for day in progress.track(dates, "risk_scores", "dates"):
        scores, notes = score_day(lake.root, lake.lake, day)
        write_dates(lake.lake, "risk_scores", scores, [day])
        per_date[day.isoformat()] = _scores_metadata(lake, scores, notes)
        rows += len(scores)
    yield from per_partition_results(context.asset_key, context.partition_keys, {
        "dates": len(dates), "rows": rows, "seconds": round(time.perf_counter() - started, 1)},
        per_date)


def _scores_metadata(lake: LakeResource, scores: pd.DataFrame, notes: dict) -> dict:
    """What one date's scores say: who is riskiest and why, and which models scored them."""
    table = scores_table(scores)
    models = pd.Series([model_label(f, v, s) for f, v, s in zip(
        scores["model_family"], scores["model_version"], scores["score_source"])]).value_counts()
    where = f"the risk_scores lake folder {lake.lake.asset_dir('risk_scores')}"
    return {
        "traders": len(scores), **notes,
        "mean_p_large_loss_pct": round(100 * float(scores["p_large_loss"].mean()), 1)
        if len(scores) else 0.0,
        "models": dg.MetadataValue.json({str(k): int(v) for k, v in models.items()}),
        "per_trader": desk_table(table, SCORE_COLUMNS),
        "per_trader_shown": shown_note(min(len(table), TABLE_MAX_ROWS), len(table), where),
    }


def _notify(notifier: NotifierResource, day: dt.date, recs: pd.DataFrame, summary: dict) -> dict:
    halted = recs[recs["level"] == "halt"]
    lines = [f"{t}: {'; '.join(r)}" for t, r in zip(halted["trader_id"], halted["reasons"])]
    body = (f"Risk recommendations for {day}: " + ", ".join(
        f"{k} {v}" for k, v in summary["counts"].items() if v) + ("\n\nHALTED\n" + "\n".join(lines)
                                                               if lines else ""))
    result = notifier.notify(f"Risk desk {day}" + (" — KILL SWITCH" if lines else ""), body,
                             always=bool(lines))
    return {c.channel: c.status for c in result.channels}


def _check_description(name: str) -> str:
    """A publish check's description: its domain function's docstring, on one line."""
    return " ".join(inspect.getdoc(getattr(publish_checks_module, name)).split())


def _recommendations_metadata(today: dt.date, recs: pd.DataFrame, summary: dict,
                              paths: dict) -> dict:
    """What one morning's recommendations say, as the desk reads them."""
    table = recommendations_table(recs)
    return {
        "for_date": today.isoformat(), "traders": len(recs),
        "levels": dg.MetadataValue.json(level_counts(recs["level"])),
        "per_trader": desk_table(table, RECOMMENDATION_COLUMNS),
        "per_trader_shown": shown_note(min(len(table), TABLE_MAX_ROWS), len(table),
                                       str(paths["csv"])),
        "firm_pnl_usd": round(summary["firm_pnl_usd"]) if summary["firm_pnl_usd"] is not None
        else "no session before",
        "recommendations_csv": report_link(paths["csv"]),
        "report": report_link(paths["html"]),
    }


def _trade_recommendations(context: dg.AssetExecutionContext, lake: LakeResource,
                           source: TradeSource, recommendation_settings: RecommendationSettings,
                           notifier: NotifierResource):
    cfg = recommendation_settings.to_config()
    per_date: dict[str, dict] = {}
    for day in progress.track(partition_dates(context), "trade_recommendations", "dates"):
        started = time.perf_counter()
        today = next_session(source.calendar, day)
        scores = lake.lake.read_df("risk_scores", "date", [day.isoformat()])
        features = read_latest_features(lake.lake, day)  # the rules read each trader's latest row
        pnl = read_pnl_history(lake.lake, day, source.calendar, cfg.history_sessions)
        balances = read_end_balances(lake.lake, day)
        recs, summary = recommend(scores, features, pnl, cfg, today=today, calendar=source.calendar,
                                  balances=balances)
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
        per_date[day.isoformat()] = {
            **_recommendations_metadata(today, recs, summary, paths),
            **report_links(lake, latest_report=paths["html"], latest_csv=paths["csv"],
                           live_folder=paths["html"].parent.parent),
            "capital_sources": dg.MetadataValue.json(
                {str(k): int(v) for k, v in recs["capital_source"].value_counts().items()})}
    yield from per_partition_results(context.asset_key, context.partition_keys,
                                     {"published": len(per_date)}, per_date)
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
        check_specs=[dg.AssetCheckSpec(n, asset="trade_recommendations", blocking=True,
                                       description=_check_description(n))
                     for n in PUBLISH_CHECKS],
        description="Per trader: level (normal / warn / reduce / close-only / halt), size multiplier, "
        "daily loss limit, max position notional and reasons, with hard rules overriding the model; "
        "published to `<data>/live/<date>/` only when every blocking check passes.",
    )(_trade_recommendations)
    return [risk_scores, trade_recommendations]
