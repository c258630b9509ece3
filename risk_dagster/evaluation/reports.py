"""Evaluation reports: JSON (everything), Markdown (tables) and HTML (Plotly charts).

The HTML embeds plotly.js once (~4.6 MB per file) so that it opens offline and on its own, copied
anywhere or sent by mail; its later charts reuse that copy.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.io as pio

from risk_dagster.evaluation import charts
from risk_dagster.evaluation.evaluate import Evaluation

DEFAULT_TITLE = "Out-of-sample evaluation"
NOTES = [
    "Counterfactual P&L is an upper bound: it assumes P&L scales linearly with size.",
    "Flag threshold of a month: the (1 - flag_budget) quantile of the model's predictions (all "
    "traders) dated before that month (never the evaluated rows); months without enough earlier "
    "predictions are not flagged.",
    "rank_ic is Spearman(p_large_loss, next_net_pnl): a useful risk score has a negative value.",
    "AUC vs rules: paired block bootstrap over label-date blocks; daily counterfactual benefit "
    "vs rules: paired t-test and Wilcoxon signed-rank test.",
    "oracle_capture = (AUC_model - 0.5) / (AUC_oracle - 0.5) on rows with simulator truth.",
]


def _clean(value):
    """JSON-safe value: NaN/inf -> None, numpy scalars -> Python, dates -> ISO text."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (pd.Timestamp, dt.date)):
        return value.isoformat()[:10]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict]:
    return _clean(frame.to_dict(orient="records"))


def key_numbers(evaluation: Evaluation, champions: dict | None = None) -> dict:
    """Flat dict of headline numbers (for Dagster metadata): per model firm-wide n, AUC, Brier,
    oracle capture, counterfactual net benefit (USD) at ``compare_reduction``; champion counts."""
    out: dict = {"n_rows": int(len(evaluation.rows))}
    r = evaluation.config.compare_reduction
    cf = evaluation.counterfactual
    for rec in evaluation.firm.to_dict(orient="records"):
        m = rec["model"]
        out.update({f"{m}_n": rec["n"], f"{m}_auc": rec["auc"], f"{m}_brier": rec["brier"]})
        if "oracle_capture" in rec:
            out.update({f"{m}_oracle_auc": rec["oracle_auc"],
                        f"{m}_oracle_capture": rec["oracle_capture"]})
        hit = cf[(cf["level"] == "firm") & (cf["model"] == m) & (cf["reduction"] == r)]
        if len(hit):
            out[f"{m}_net_benefit_usd"] = float(hit["net_benefit"].iloc[0])
    for chosen in (c["chosen"] for c in (champions or {}).values()):
        out[f"champions_{chosen}"] = out.get(f"champions_{chosen}", 0) + 1
    return _clean(out)


def _md_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "_none_\n"
    fmt = [[charts.format_cell(v) for v in row] for row in frame.itertuples(index=False)]
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    sep = "|" + "---|" * len(frame.columns)
    return "\n".join([head, sep] + ["| " + " | ".join(r) + " |" for r in fmt]) + "\n"


_CF_COLS = ["model", "reduction", "n_rows", "intervention_rate", "net_benefit", "avoided_losses",
            "missed_gains", "sharpe_before", "sharpe_after", "max_drawdown_before",
            "max_drawdown_after"]


def _markdown(evaluation: Evaluation, champions: dict, numbers: dict) -> str:
    cf = evaluation.counterfactual
    firm_cf = cf[cf["level"] == "firm"][_CF_COLS] if len(cf) else cf
    champ = pd.DataFrame([{"trader_id": t, "chosen": d["chosen"], "reason": d["reason"]}
                          for t, d in champions.items()])
    table_cols = [c for c in charts.TABLE_COLUMNS if c in evaluation.per_trader.columns]
    parts = ["# Out-of-sample evaluation\n", *(f"- {n}" for n in NOTES), "",
             "## Key numbers\n", _md_table(pd.DataFrame({"name": list(numbers),
                                                        "value": list(numbers.values())},
                                                       dtype=object)),
             "## Firm-wide metrics\n", _md_table(evaluation.firm.drop(
                 columns=[c for c in evaluation.firm.columns if c.endswith("_reason")])),
             "## Versus rules\n", _md_table(evaluation.comparison),
             "## Counterfactual, firm-wide (upper bound)\n", _md_table(firm_cf),
             "## Champions\n", _md_table(champ),
             "## Per trader\n", _md_table(evaluation.per_trader[table_cols])]
    return "\n".join(parts)


def _html(evaluation: Evaluation, champions: dict, importance: pd.DataFrame | None,
          title: str) -> str:
    figs = [charts.equity_figure(evaluation, evaluation.config.compare_reduction),
            charts.calibration_figure(evaluation)]
    if importance is not None and len(importance):
        figs.append(charts.importance_figure(importance))
    figs.append(charts.trader_table_figure(evaluation.per_trader, champions))
    # plotly.js inlined in the first chart only: the page needs no network and no other file
    divs = [pio.to_html(f, include_plotlyjs=i == 0, full_html=False) for i, f in enumerate(figs)]
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in NOTES)
    missing = "" if importance is not None and len(importance) else (
        "<p>Feature importance: not provided.</p>")
    title = html.escape(title)
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
            f"{title}</title></head><body><h1>{title}</h1><ul>{notes}</ul>{missing}"
            + "".join(divs) + "</body></html>")


def write_reports(evaluation: Evaluation, out_dir: str | Path,
                  importance: pd.DataFrame | pd.Series | None = None,
                  champions: dict | None = None, title: str = DEFAULT_TITLE) -> dict:
    """Write ``evaluation.json``, ``evaluation.md`` and ``evaluation.html`` into ``out_dir``.

    ``title``: the HTML page's title and heading (say which evaluation it is, so that two open
    reports can be told apart).
    ``importance``: optional frame ``feature, importance`` (any extra columns, e.g. model or
    trader, are averaged over) or a Series indexed by feature name. Returns
    ``{"paths": {"json", "markdown", "html"}: Path, "key_numbers": flat dict}``.
    """
    if isinstance(importance, pd.Series):  # feature -> importance, e.g. a booster's gain
        importance = importance.rename("importance").rename_axis("feature").reset_index()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    champions = champions or {}
    numbers = key_numbers(evaluation, champions)
    payload = {"notes": NOTES, "config": _clean(vars(evaluation.config)),
               "key_numbers": numbers, "firm": _records(evaluation.firm),
               "per_trader": _records(evaluation.per_trader),
               "counterfactual": _records(evaluation.counterfactual),
               "comparison": _records(evaluation.comparison),
               "thresholds": _records(evaluation.thresholds), "champions": _clean(champions)}
    paths = {"json": out / "evaluation.json", "markdown": out / "evaluation.md",
             "html": out / "evaluation.html"}
    paths["json"].write_text(json.dumps(payload, indent=1, allow_nan=False))
    paths["markdown"].write_text(_markdown(evaluation, champions, numbers))
    paths["html"].write_text(_html(evaluation, champions, importance, title))
    return {"paths": paths, "key_numbers": numbers}
