"""Plotly figures of the evaluation report (built from an ``Evaluation``, no file I/O)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from risk_dagster.evaluation.counterfactual import daily_pnl
from risk_dagster.evaluation.evaluate import Evaluation

TABLE_COLUMNS = ["trader_id", "model", "n", "base_rate", "auc", "pr_auc", "brier", "brier_clim",
                 "log_loss", "rmse", "mae", "var_violation_rate", "kupiec_p", "rank_ic"]


def format_cell(value) -> str:
    """Readable cell: USD-sized numbers with thousands separators, others to 4 significant."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            return ""
        if abs(value) >= 1000 or float(value).is_integer():
            return f"{value:,.0f}"
        return f"{value:.4g}"
    return str(value)


def calibration_curve(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Reliability curve: per equal-width probability bin (non-empty only) the mean predicted
    probability, the observed large-loss frequency (fractions) and the row count ``n``."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    idx = np.clip((p * bins).astype(int), 0, bins - 1)
    frame = pd.DataFrame({"bin": idx, "p": p, "y": y})
    out = frame.groupby("bin").agg(mean_pred=("p", "mean"), frac_pos=("y", "mean"),
                                   n=("y", "size"))
    return out.reset_index()


def equity_figure(evaluation: Evaluation, reduction: float) -> go.Figure:
    """Firm-wide cumulative P&L (USD) per model: actual vs cut-by-``reduction`` counterfactual."""
    fig = go.Figure()
    for model, grp in evaluation.rows.groupby("model", sort=True):
        daily = daily_pnl(grp, reduction)
        x = [d.date().isoformat() for d in daily.index]
        fig.add_scatter(x=x, y=daily["actual"].cumsum().round(2).tolist(), mode="lines",
                        name=f"{model} actual", line={"dash": "dot"})
        fig.add_scatter(x=x, y=daily["counterfactual"].cumsum().round(2).tolist(), mode="lines",
                        name=f"{model} cut {reduction:.0%} on flags")
    fig.update_layout(title=f"Equity curves, firm-wide: actual vs counterfactual (upper bound, "
                      f"{reduction:.0%} size cut on flagged days)", xaxis_title="label date",
                      yaxis_title="cumulative net P&L (USD)")
    return fig


def calibration_figure(evaluation: Evaluation) -> go.Figure:
    """Reliability curve per model, pooled over traders."""
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line={"dash": "dash"})
    for model, grp in evaluation.rows.groupby("model", sort=True):
        cal = calibration_curve(grp["large_loss"], grp["p_large_loss"],
                                evaluation.config.calibration_bins)
        fig.add_scatter(x=cal["mean_pred"].round(4).tolist(), y=cal["frac_pos"].round(4).tolist(),
                        mode="lines+markers", name=model, text=[f"n={n}" for n in cal["n"]])
    fig.update_layout(title="Calibration (reliability) curve", xaxis_title="mean predicted "
                      "p_large_loss", yaxis_title="observed large-loss frequency")
    return fig


def importance_figure(importance: pd.DataFrame, top: int = 20) -> go.Figure:
    """Top features by mean ``importance`` over the frame's rows (``feature, importance``)."""
    mean = importance.groupby("feature")["importance"].mean().nlargest(top).sort_values()
    fig = go.Figure(go.Bar(x=mean.round(6).tolist(), y=mean.index.tolist(), orientation="h"))
    fig.update_layout(title=f"Feature importance (top {len(mean)}, mean over models/traders)",
                      xaxis_title="importance", height=max(300, 22 * len(mean) + 120))
    return fig


def trader_table_figure(per_trader: pd.DataFrame, champions: dict | None) -> go.Figure:
    """Per-trader metrics table (one row per trader and model), with the champion marked."""
    cols = [c for c in TABLE_COLUMNS if c in per_trader.columns]
    table = per_trader[cols].copy()
    if champions:
        table["champion"] = [champions.get(t, {}).get("chosen") == m
                             for t, m in zip(table["trader_id"], table["model"])]
    values = [[format_cell(v) for v in table[c]] for c in table.columns]
    fig = go.Figure(go.Table(header={"values": list(table.columns)}, cells={"values": values}))
    fig.update_layout(title="Per-trader out-of-sample metrics",
                      height=min(2000, 60 + 28 * (len(table) + 2)))
    return fig
