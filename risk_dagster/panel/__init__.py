"""Trader-day panel: one row per trader on the roster per session, with P&L, activity, fills
aggregates, intraday behaviour and market context. Domain code: pandas, numpy and DuckDB only."""

from risk_dagster.panel.aggregates import AGGREGATE_COLUMNS, fills_daily_aggregates
from risk_dagster.panel.build import build_trader_day_panel
from risk_dagster.panel.columns import PANEL_COLUMN_NAMES, PANEL_COLUMNS
from risk_dagster.panel.intraday import INTRADAY_COLUMNS, intraday_behaviour
from risk_dagster.panel.roster import ROSTER_MAX_GAP_SESSIONS, roster

__all__ = [
    "AGGREGATE_COLUMNS",
    "INTRADAY_COLUMNS",
    "PANEL_COLUMNS",
    "PANEL_COLUMN_NAMES",
    "ROSTER_MAX_GAP_SESSIONS",
    "build_trader_day_panel",
    "fills_daily_aggregates",
    "intraday_behaviour",
    "roster",
]
