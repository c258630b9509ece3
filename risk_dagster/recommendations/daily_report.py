"""The morning's HTML report for the risk desk: one page, read top to bottom.

Header (date, traders per level, firm P&L, kill-switch events), the top risks, changes since the
previous morning, a heatmap of risk scores (traders x recent mornings) and the firm's cumulative
net P&L with its drawdown. Text goes into plain HTML tables through ``html.escape``; charts are
Plotly fragments, with plotly.js inlined once in the page (~4.6 MB): the file opens offline and
on its own, copied anywhere or sent by mail.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from risk_dagster.recommendations.config import LEVEL_RANK, LEVELS
from risk_dagster.recommendations.reasons import usd
from risk_dagster.recommendations.rules import KILL_SWITCH
from risk_dagster.recommendations.scores import as_date

HEATMAP_DAYS = 20  # mornings shown in the heatmap
HEATMAP_MAX_SCORE = 50.0  # colour saturates at a 50% chance, so days stay comparable
TOP_RISKS = 15  # rows of the top risks table
DIV_IDS = ("risk-heatmap", "firm-pnl")

_CSS = """body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;
margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0}.lvl-normal{background:#e8f5e9}.lvl-warn{background:#fff8e1}
.lvl-reduce{background:#ffe0b2}.lvl-close-only{background:#ffccbc}.lvl-halt{background:#ef9a9a}
.alert{border:2px solid #c62828;padding:.5em 1em;background:#ffebee}"""


def _esc(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return html.escape(str(value))


def _level_cell(level: Any, text: Any = None) -> str:
    """A cell coloured by ``level`` (only known levels become class names), showing ``text``."""
    css = f"lvl-{level}" if level in LEVEL_RANK else "lvl-unknown"
    return f"<td class='{css}'>{_esc(level if text is None else text)}</td>"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """An HTML table; ``rows`` hold ready ``<td>`` cells (already escaped)."""
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = "".join(f"<tr>{''.join(r)}</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _td(value: Any) -> str:
    return f"<td>{_esc(value)}</td>"


def _usd_td(value: Any) -> str:
    return _td("" if value is None or pd.isna(value) else usd(float(value)))


def _reasons_td(reasons: Any) -> str:
    items = list(reasons) if isinstance(reasons, (list, tuple, np.ndarray)) else []
    return "<td>" + "<br>".join(_esc(r) for r in items) + "</td>"


def _ranked(recs: pd.DataFrame) -> pd.DataFrame:
    """Strictest level first, then the highest risk score."""
    rank = recs["level"].map(LEVEL_RANK).fillna(-1)
    return (recs.assign(_rank=rank)
            .sort_values(["_rank", "risk_score", "trader_id"], ascending=[False, False, True])
            .drop(columns="_rank"))


def level_changes(recs: pd.DataFrame, previous_recs: pd.DataFrame | None) -> pd.DataFrame:
    """Traders on both mornings whose level changed: trader_id, previous_level, level, change
    ('up' = stricter, 'down' = looser), previous_risk_score, risk_score (0..100); stricter moves
    first, then by today's level and score."""
    cols = ["trader_id", "previous_level", "level", "change", "previous_risk_score", "risk_score"]
    if previous_recs is None or previous_recs.empty:
        return pd.DataFrame(columns=cols)
    prev = previous_recs[["trader_id", "level", "risk_score"]].rename(
        columns={"level": "previous_level", "risk_score": "previous_risk_score"})
    both = recs[["trader_id", "level", "risk_score"]].merge(prev, on="trader_id", how="inner")
    both = both[both["level"] != both["previous_level"]]
    step = both["level"].map(LEVEL_RANK) - both["previous_level"].map(LEVEL_RANK)
    both = both.assign(change=np.where(step > 0, "up", "down"))
    both = _ranked(both).sort_values("change", ascending=False, kind="stable")  # "up" first
    return both[cols].reset_index(drop=True)


def risk_score_matrix(score_history: pd.DataFrame | None, recs: pd.DataFrame, today: dt.date,
                      n_days: int = HEATMAP_DAYS) -> pd.DataFrame:
    """Risk scores (0..100), traders x the last ``n_days`` mornings up to ``today``.

    ``score_history``: earlier mornings (for_date, trader_id, risk_score); today's column always
    comes from ``recs``. Rows are today's traders, riskiest first; NaN = not scored that morning.
    """
    today_rows = recs[["trader_id", "risk_score"]].assign(for_date=today)
    frames = [today_rows]
    if score_history is not None and len(score_history):
        past = score_history[["for_date", "trader_id", "risk_score"]].copy()
        past["for_date"] = past["for_date"].map(as_date)
        frames.insert(0, past[past["for_date"] < today])
    long = pd.concat(frames, ignore_index=True)
    dates = sorted(long["for_date"].unique())[-n_days:]
    wide = long[long["for_date"].isin(dates)].pivot_table(
        index="trader_id", columns="for_date", values="risk_score", aggfunc="last")
    order = _ranked(recs)["trader_id"]
    return wide.reindex(index=order, columns=dates).astype(float)


def firm_pnl_drawdown(pnl_history: pd.DataFrame, before: dt.date | None = None) -> pd.DataFrame:
    """Per session (before ``before`` if given): the firm's net P&L (sum over traders, USD), its
    cumulative sum from 0, and the drawdown (USD >= 0) below the running peak, starting at 0."""
    h = pnl_history.assign(trade_date=pnl_history["trade_date"].map(as_date))
    if before is not None:
        h = h[h["trade_date"] < before]
    daily = h.groupby("trade_date")["net_pnl"].sum(min_count=1).fillna(0.0).sort_index()
    cum = daily.cumsum()
    peak = cum.cummax().clip(lower=0.0)
    return pd.DataFrame({"trade_date": daily.index, "net_pnl": daily.to_numpy(),
                         "cum_pnl": cum.to_numpy(), "drawdown": (peak - cum).to_numpy()})


def _heatmap_figure(matrix: pd.DataFrame) -> go.Figure:
    dates = [d.isoformat() for d in matrix.columns]
    fig = go.Figure(go.Heatmap(
        z=matrix.to_numpy(), x=dates, y=list(matrix.index), zmin=0.0, zmax=HEATMAP_MAX_SCORE,
        colorscale="YlOrRd", colorbar={"title": "risk score"},
        hovertemplate="%{y} on %{x}: %{z:.1f}<extra></extra>"))
    fig.update_layout(title="Risk score by morning (100 x P(large-loss day))",
                      height=max(300, 120 + 18 * len(matrix)), margin={"l": 120},
                      # category axes: ids like "12345" and dates stay labels, in this order
                      yaxis={"autorange": "reversed", "type": "category"},
                      xaxis={"type": "category"})
    return fig


def _pnl_figure(curve: pd.DataFrame) -> go.Figure:
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35],
                        subplot_titles=("Firm cumulative net P&L (USD)", "Drawdown (USD)"))
    x = [d.isoformat() for d in curve["trade_date"]]
    fig.add_trace(go.Scatter(x=x, y=curve["cum_pnl"], name="cumulative net P&L"), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=-curve["drawdown"], name="drawdown", fill="tozeroy",
                             line={"color": "#c62828"}), row=2, col=1)
    fig.update_layout(height=480, showlegend=False)
    return fig


def _header(today: dt.date, recs: pd.DataFrame, firm: Mapping[str, Any]) -> str:
    counts = {lvl: int((recs["level"] == lvl).sum()) for lvl in LEVELS}
    count_row = [_level_cell(lvl, counts[lvl]) for lvl in LEVELS]
    pnl = firm.get("firm_pnl_usd")
    firm_line = (f"Firm net P&amp;L on {_esc(firm.get('last_session'))}: {_esc(usd(pnl))} "
                 f"(limit {_esc(usd(firm.get('firm_loss_limit_usd') or 0.0))})"
                 if pnl is not None else "Firm net P&amp;L: no history")
    if firm.get("firm_loss_breached"):
        firm_line = f"<div class='alert'><b>Firm loss limit breached.</b> {firm_line}</div>"
    killed = recs[recs["rule_hits"].map(
        lambda h: isinstance(h, (list, tuple, np.ndarray)) and KILL_SWITCH in list(h))]
    kills = ("<p>No kill-switch events.</p>" if killed.empty else
             "<div class='alert'><b>Kill-switch events</b>" + _table(
                 ["trader", "level", "reasons"],
                 ([_td(t), _level_cell(lvl), _reasons_td(r)] for t, lvl, r in
                  zip(killed["trader_id"], killed["level"], killed["reasons"]))) + "</div>")
    return (f"<h1>Daily risk report &mdash; {_esc(today.isoformat())}</h1>"
            f"<p>{len(recs)} traders.</p>{_table(LEVELS, [count_row])}<p>{firm_line}</p>{kills}")


def _top_risks(recs: pd.DataFrame, n: int) -> str:
    top = _ranked(recs).head(n)
    rows = ([_td(r.trader_id), _level_cell(r.level), _td(f"{r.risk_score:.1f}"),
             _td(f"{r.p_large_loss:.1%}"), _td(f"{r.size_multiplier:g}"),
             _usd_td(r.daily_loss_limit_usd), _usd_td(r.max_position_notional_usd),
             _reasons_td(r.reasons)] for r in top.itertuples(index=False))
    return "<h2>Top risks</h2>" + _table(
        ["trader", "level", "risk score", "P(large loss)", "size multiplier", "daily loss limit",
         "max position", "reasons"], rows)


def _changes(recs: pd.DataFrame, previous_recs: pd.DataFrame | None) -> str:
    if previous_recs is None or previous_recs.empty:
        return "<h2>Changes since the previous morning</h2><p>No previous morning on record.</p>"
    changes = level_changes(recs, previous_recs)
    rows = ([_td(c.trader_id), _level_cell(c.previous_level), _level_cell(c.level),
             _td("stricter" if c.change == "up" else "looser"),
             _td(f"{c.previous_risk_score:.1f} -> {c.risk_score:.1f}")]
            for c in changes.itertuples(index=False))
    body = (_table(["trader", "previous level", "level", "change", "risk score"], rows)
            if len(changes) else "<p>No level changes.</p>")
    new = sorted(set(recs["trader_id"]) - set(previous_recs["trader_id"]))
    gone = sorted(set(previous_recs["trader_id"]) - set(recs["trader_id"]))
    extra = "".join(f"<p>{label}: {_esc(', '.join(ids))}</p>" for label, ids in
                    (("New this morning", new), ("No longer scored", gone)) if ids)
    return "<h2>Changes since the previous morning</h2>" + body + extra


def daily_report_html(today: dt.date, recs: pd.DataFrame, firm_summary: Mapping[str, Any],
                      pnl_history: pd.DataFrame | None, previous_recs: pd.DataFrame | None = None,
                      *, score_history: pd.DataFrame | None = None,
                      n_days: int = HEATMAP_DAYS, top_n: int = TOP_RISKS) -> str:
    """The morning's report as one HTML page.

    In: ``recs`` and ``firm_summary`` from :func:`recommend`; ``pnl_history`` (trade_date,
    trader_id, net_pnl USD; sessions before ``today`` are charted); ``previous_recs`` (the previous
    morning's rows, for the changes table); ``score_history`` (earlier mornings: for_date,
    trader_id, risk_score) for the heatmap of the last ``n_days`` mornings.
    Out: HTML text; the charts are ``<div id="risk-heatmap">`` and ``<div id="firm-pnl">``.
    """
    today = as_date(today)
    parts = [_header(today, recs, firm_summary), _top_risks(recs, top_n),
             _changes(recs, previous_recs), "<h2>Risk scores by morning</h2>"]
    matrix = risk_score_matrix(score_history, recs, today, n_days)
    # the first chart carries plotly.js, the second reuses it
    parts.append(pio.to_html(_heatmap_figure(matrix), include_plotlyjs=True, full_html=False,
                             div_id=DIV_IDS[0]))
    parts.append("<h2>Firm P&amp;L and drawdown</h2>")
    curve = (firm_pnl_drawdown(pnl_history, before=today)
             if pnl_history is not None and len(pnl_history) else pd.DataFrame())
    if curve.empty:
        parts.append("<p>No P&amp;L history.</p>")
    else:
        parts.append(pio.to_html(_pnl_figure(curve), include_plotlyjs=False, full_html=False,
                                 div_id=DIV_IDS[1]))
        parts.append(f"<p>Cumulative net P&amp;L {_esc(usd(curve['cum_pnl'].iloc[-1]))}, "
                     f"current drawdown {_esc(usd(curve['drawdown'].iloc[-1]))}, "
                     f"max drawdown {_esc(usd(curve['drawdown'].max()))}.</p>")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>Daily risk report {_esc(today.isoformat())}</title><style>{_CSS}</style>"
            "</head><body>" + "".join(parts) + "</body></html>")
