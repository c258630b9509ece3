"""The replay report: what the engine said each morning and what following it would have done.

Reads the lake and the replay's progress file (nothing is recomputed but the rules baseline's
recommendations, from the same point-in-time features) and writes
``<data>/reports/replay/{report.html, report.json, outcomes.csv, per_trader.csv}``.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import uuid
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from risk_dagster.core.lake import Lake
from risk_dagster.core.tables import read_latest_features, read_pnl_history
from risk_dagster.recommendations import RecommendationConfig
from risk_dagster.replay.baseline import rules_recommendations
from risk_dagster.replay.outcomes import (ASSUMPTIONS, equity, limit_figures, outcome_table,
                                          per_trader_figures, summarize)
from risk_dagster.replay.progress import ReplayProgress

REPORT_DIR = ("reports", "replay")


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _dates(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    return frame.assign(**{c: pd.to_datetime(frame[c]).dt.date for c in cols})


def read_inputs(lake: Lake, first: dt.date, last: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the engine's recommendations for the sessions ``first``..``last`` — made from the
    previous closes —, the panel's ``trade_date, trader_id, net_pnl`` of traded days)."""
    since = (first - dt.timedelta(days=20)).isoformat()  # the close before ``first``
    keys = [k for k in lake.keys("trade_recommendations", "date")
            if since <= k <= last.isoformat()]
    recs = _dates(lake.read_df("trade_recommendations", "date", keys), "for_date", "trade_date") \
        if keys else pd.DataFrame(columns=["for_date", "trade_date"])
    recs = recs[(recs["for_date"] >= first) & (recs["for_date"] <= last)]
    if recs.empty:
        raise ValueError(f"no recommendations stored for {first}..{last}: nothing was replayed")
    con = lake.connect(["trader_day_panel"])
    pnl = con.execute("SELECT trade_date, trader_id, net_pnl FROM trader_day_panel "
                      "WHERE traded AND net_pnl IS NOT NULL").df()
    return recs, _dates(pnl, "trade_date")


def rules_for_mornings(lake: Lake, recs: pd.DataFrame, cfg: RecommendationConfig,
                       calendar: str) -> pd.DataFrame:
    """The rules baseline's recommendations for every morning of ``recs``, from the same
    lake reads as the engine's morning (the trader's latest features, recent daily P&L)."""
    out = []
    for (day, today), _ in recs.groupby(["trade_date", "for_date"], sort=True):
        features = read_latest_features(lake, day)
        pnl = read_pnl_history(lake, day, calendar, cfg.history_sessions)
        out.append(rules_recommendations(features, pnl, cfg, day=day, today=today,
                                         calendar=calendar))
    return pd.concat(out, ignore_index=True)


def _events(progress: ReplayProgress, kind: str) -> pd.DataFrame:
    return pd.DataFrame([e for e in progress.events if e["kind"] == kind])


def build_replay_report(data_dir: str | os.PathLike[str], cfg: RecommendationConfig, *,
                        calendar: str, level: float = 0.05) -> dict:
    """Build and write the report of the replay stored in ``data_dir``; returns its JSON."""
    data_dir = Path(data_dir)
    progress_path = ReplayProgress.path(data_dir)
    if not progress_path.exists():
        raise FileNotFoundError(f"{progress_path}: no replay in this data directory")
    progress = ReplayProgress(**json.loads(progress_path.read_text()))
    first = dt.date.fromisoformat(progress.params["from"])
    last = dt.date.fromisoformat(progress.params["to"])
    lake = Lake(data_dir)
    recs, pnl = read_inputs(lake, first, last)
    known_until = max(pnl["trade_date"]) if len(pnl) else first
    recs = recs[recs["for_date"] <= known_until]  # the next session's P&L is known
    rules = rules_for_mornings(lake, recs, cfg, calendar)
    table = outcome_table(recs, pnl, rules)
    strategies = [summarize(table, "engine_pnl", "engine (followed)", "level", "size_multiplier"),
                  summarize(table, "rules_pnl", "rules baseline (followed)", "rules_level",
                            "rules_size_multiplier"),
                  summarize(table, "nothing_pnl", "doing nothing")]
    per_trader = per_trader_figures(table, level)
    models = _events(progress, "model")
    report = {
        "replay": progress.params, "sessions": int(table["for_date"].nunique()),
        "first_for_date": str(table["for_date"].min()), "last_for_date": str(table["for_date"].max()),
        "traders": int(table["trader_id"].nunique()), "assumptions": list(ASSUMPTIONS),
        "strategies": [s.as_dict() for s in strategies],
        "limits": limit_figures(table, level),
        "alarms": _events(progress, "alarm").to_dict(orient="records"),
        "drift_retrains": _events(progress, "drift_retrain").to_dict(orient="records"),
        "weekly_retrains": _events(progress, "weekly_retrain").to_dict(orient="records"),
        "skipped": _events(progress, "skipped").to_dict(orient="records"),
        "models_trained": models.to_dict(orient="records"),
        "model_versions_by_day": _versions_by_day(table).to_dict(orient="records"),
        "failed_runs": [e for e in progress.events if e["kind"] == "run" and not e["success"]],
    }
    out_dir = data_dir.joinpath(*REPORT_DIR)
    out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / "outcomes.csv", index=False)
    per_trader.to_csv(out_dir / "per_trader.csv", index=False)
    _atomic_write(out_dir / "report.json", json.dumps(report, indent=1, default=str))
    _atomic_write(out_dir / "report.html", _html(report, table, per_trader))
    report["paths"] = {k: str(out_dir / f) for k, f in (
        ("html", "report.html"), ("json", "report.json"), ("outcomes", "outcomes.csv"),
        ("per_trader", "per_trader.csv"))}
    return report


def _versions_by_day(table: pd.DataFrame) -> pd.DataFrame:
    """Per morning: the champion versions in force (family/version: traders), and the rules
    baseline's count."""
    label = table["model_family"].astype(str) + "/" + table["model_version"].astype(str)
    counts = table.assign(model=label).groupby(["for_date", "model"]).size()
    return counts.rename("traders").reset_index()


def _figure(table: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for col, name in (("engine_pnl", "engine followed"), ("rules_pnl", "rules baseline followed"),
                      ("nothing_pnl", "doing nothing (actual)")):
        curve = equity(table, col)
        fig.add_scatter(x=[d.isoformat() for d in curve.index], y=curve.round(2).tolist(),
                        mode="lines", name=name)
    fig.update_layout(title="Firm equity over the replay (cumulative net P&L; followed = upper "
                      "bound, see assumptions)", xaxis_title="session",
                      yaxis_title="cumulative net P&L (USD)")
    return fig


def _drawdown_figure(table: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for col, name in (("engine_pnl", "engine followed"), ("rules_pnl", "rules baseline followed"),
                      ("nothing_pnl", "doing nothing")):
        curve = equity(table, col)
        dd = curve - curve.cummax().clip(lower=0)
        fig.add_scatter(x=[d.isoformat() for d in dd.index], y=dd.round(2).tolist(),
                        mode="lines", name=name)
    fig.update_layout(title="Drawdown from the running peak (USD)", xaxis_title="session",
                      yaxis_title="USD")
    return fig


def _table_html(frame: pd.DataFrame, max_rows: int = 200) -> str:
    if frame.empty:
        return "<p><em>none</em></p>"
    shown = frame.head(max_rows)
    more = f"<p>… {len(frame) - max_rows} more rows (see the CSV/JSON)</p>" \
        if len(frame) > max_rows else ""
    return shown.to_html(index=False, escape=True, float_format=lambda v: f"{v:,.2f}") + more


def _html(report: dict, table: pd.DataFrame, per_trader: pd.DataFrame) -> str:
    esc = html.escape
    params = report["replay"]
    lim = report["limits"]
    strategies = pd.DataFrame(report["strategies"])
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Replay report</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:"
        "collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
        "</style></head><body>",
        f"<h1>Replay {esc(str(params.get('from')))} .. {esc(str(params.get('to')))}</h1>",
        f"<p>{report['sessions']} sessions advised ({esc(report['first_for_date'])} .. "
        f"{esc(report['last_for_date'])}), {report['traders']} traders. Source: "
        f"{esc(json.dumps(params))}.</p>",
        "<h2>Assumptions</h2><ul>" + "".join(f"<li>{esc(a)}</li>" for a in report["assumptions"])
        + "</ul>",
        "<h2>Following the recommendations vs the rules baseline vs doing nothing</h2>",
        "<p>avoided_losses: loss not taken on the trader-days that lost; missed_gains: gain not "
        "made on the trader-days that won; halted: trader-days at close-only or halt.</p>",
        _table_html(strategies),
        _figure(table).to_html(full_html=False, include_plotlyjs=True),
        _drawdown_figure(table).to_html(full_html=False, include_plotlyjs=False),
        "<h2>Published limits</h2>",
        f"<p>Next session's loss past the published daily loss limit: {lim['limit_breaches']} of "
        f"{lim['trader_days']} traded trader-days ({(lim['limit_breach_rate'] or 0):.2%}). "
        f"Below the published 5% VaR: {lim['var_violations']} of {lim['var_n']} "
        f"({lim['var_violation_rate']:.2%}), Kupiec p = {lim['kupiec_p']:.3g}.</p>",
        "<h2>Alarms</h2>", _table_html(pd.DataFrame(report["alarms"])),
        "<h2>Retrains</h2><h3>Requested by the drift sensor</h3>",
        _table_html(pd.DataFrame(report["drift_retrains"])),
        "<h3>Weekly schedule</h3>", _table_html(pd.DataFrame(report["weekly_retrains"])),
        "<h3>Models trained (as_of: the latest session in the lake when it was trained)</h3>",
        _table_html(pd.DataFrame(report["models_trained"])),
        "<h2>Skipped mornings and runs</h2>", _table_html(pd.DataFrame(report["skipped"])),
        "<h2>Failed runs</h2>", _table_html(pd.DataFrame(report["failed_runs"])),
        "<h2>Model versions that scored each morning</h2>",
        _table_html(pd.DataFrame(report["model_versions_by_day"]), max_rows=400),
        "<h2>Per trader</h2>", _table_html(per_trader, max_rows=1000),
        "<h2>Per morning and trader (largest differences first; every row in outcomes.csv)</h2>",
        _table_html(table.assign(diff=(table["engine_pnl"] - table["actual_pnl"]).abs())
                    .sort_values("diff", ascending=False).drop(columns="diff")),
        "</body></html>"]
    return "\n".join(parts)
