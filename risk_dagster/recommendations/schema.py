"""The published table of trade recommendations (one row per trader per morning), with units.

Use ``RECOMMENDATIONS.to_arrow(recs)`` when writing, so that list columns keep their type even on
a morning where every list is empty.
"""

from __future__ import annotations

import pyarrow as pa

from risk_dagster.core.schemas import Column, TableSchema

_TEXTS = pa.list_(pa.string())

RECOMMENDATIONS = TableSchema(
    name="trade_recommendations",
    key=("for_date", "trader_id"),
    columns=(
        Column("for_date", pa.date32(), "date", "session the recommendation is for (today)"),
        Column("trade_date", pa.date32(), "date", "latest input session (D) it was made from"),
        Column("trader_id", pa.string(), "id", "trader"),
        Column("level", pa.string(), "label", "normal / warn / reduce / close-only / halt"),
        Column("model_level", pa.string(), "label", "level from the probability bands alone"),
        Column("review", pa.bool_(), "flag", "6-week Sharpe below the minimum"),
        Column("size_multiplier", pa.float64(), "fraction", "share of usual size allowed"),
        Column("daily_loss_limit_usd", pa.float64(), "USD", "daily loss limit (>= 0)"),
        Column("max_position_notional_usd", pa.float64(), "USD", "max position notional"),
        Column("p_large_loss", pa.float64(), "probability", "calibrated P(large-loss day)"),
        Column("risk_score", pa.float64(), "0..100", "100 x p_large_loss"),
        Column("pred_pnl", pa.float64(), "USD", "expected net P&L (NaN on the rules baseline)",
               nullable=True),
        Column("var_05", pa.float64(), "USD", "5% quantile of net P&L", nullable=True),
        Column("capital_usd", pa.float64(), "USD", "allocated capital"),
        Column("capital_source", pa.string(), "label", "where capital_usd comes from: "
               "'configured' (capital_by_trader), 'end_balance' (the account's End Balance at its "
               "latest close) or 'default' (default_capital_usd: nothing else known)",
               default="default"),
        Column("last_day_pnl", pa.float64(), "USD", "net P&L of D (NaN if not traded)",
               nullable=True),
        Column("loss_streak", pa.float64(), "days", "losing traded days in a row", nullable=True),
        Column("sharpe_6w", pa.float64(), "ratio", "annualised 6-week Sharpe", nullable=True),
        Column("firm_loss_breached", pa.bool_(), "flag", "firm loss above its limit on D"),
        Column("model_family", pa.string(), "label", "pooled_lgbm, trader_lgbm, ..."),
        Column("model_version", pa.string(), "text", "champion version"),
        Column("model_trained_on", pa.date32(), "date", "last date of the training data"),
        Column("model_age_days", pa.int64(), "days", "calendar days since model_trained_on"),
        Column("data_lag_sessions", pa.int64(), "sessions", "sessions missing before today"),
        Column("score_source", pa.string(), "label", "'model' or 'rules_baseline'"),
        Column("rule_hits", _TEXTS, "names", "hard rules that fired"),
        Column("reasons", _TEXTS, "text", "plain words: rule reasons, then the model's"),
        Column("reason_features", _TEXTS, "names", "features behind the model's reasons"),
    ),
)
