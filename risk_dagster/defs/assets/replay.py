"""The replay report: built from the lake and the progress file of a replay
(``risk-dagster replay``), which drives the schedules, the sensor and their runs."""

import dagster as dg
import pandas as pd

from risk_dagster.defs.metadata import markdown_table
from risk_dagster.defs.resources import LakeResource, RecommendationSettings, TradeSource
from risk_dagster.replay.report import build_replay_report


@dg.asset(
    deps=["trade_recommendations", "drift_report", "trader_day_panel"], group_name="replay",
    kinds={"plotly", "json"}, owners=["team:risk-desk"],
    description="Per morning and trader of a replay: the level and size multiplier in force, the "
    "next session's actual P&L and the P&L had the recommendation been followed; firm equity "
    "with and without the engine, the rules baseline's and doing nothing; alarms, retrains, "
    "model versions, limit and VaR breaches.",
)
def replay_report(lake: LakeResource, source: TradeSource,
                  recommendation_settings: RecommendationSettings) -> dg.MaterializeResult:
    report = build_replay_report(lake.root, recommendation_settings.to_config(),
                                 calendar=source.calendar)
    by_name = {s["name"]: s for s in report["strategies"]}
    engine, rules = by_name["engine (followed)"], by_name["rules baseline (followed)"]
    nothing = by_name["doing nothing"]
    lim = report["limits"]
    return dg.MaterializeResult(metadata={
        "sessions": report["sessions"], "traders": report["traders"],
        "engine_pnl_usd": engine["total_pnl"], "rules_pnl_usd": rules["total_pnl"],
        "nothing_pnl_usd": nothing["total_pnl"],
        "engine_max_drawdown_usd": engine["max_drawdown"],
        "nothing_max_drawdown_usd": nothing["max_drawdown"],
        "engine_avoided_losses_usd": engine["avoided_losses"],
        "engine_missed_gains_usd": engine["missed_gains"],
        "engine_trader_days_no_new_risk": engine["trader_days_halted"],
        "limit_breach_rate": float(lim["limit_breach_rate"] or 0.0),
        "var_violation_rate": float(lim["var_violation_rate"]),
        "var_kupiec_p": float(lim["kupiec_p"]),
        "drift_retrains": len(report["drift_retrains"]),
        "weekly_retrains": len(report["weekly_retrains"]),
        "skipped": dg.MetadataValue.json(report["skipped"]),
        "strategies": markdown_table(pd.DataFrame(report["strategies"])),
        "report_html": dg.MetadataValue.path(report["paths"]["html"]),
        "report_json": dg.MetadataValue.path(report["paths"]["json"])})
