"""Predictions of each trader's champion for the session after ``day``.

Traders are grouped by champion model (many share the pooled model), and each model predicts
once on its traders' feature history: the pooled and rules models derive inputs from a trader's
own history (expanding normalisation, trailing P&L), so they need it, not only the last row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from risk_dagster.evaluation.var_calibration import (Multiplier, advance_multiplier,
                                                     calibrated_var)
from risk_dagster.evaluation.champions import champion_model_path, read_champion
from risk_dagster.models import load_model
from risk_dagster.models.config import RULE_FEATURES

# the rules model reads these beyond its listed features (trailing P&L statistics)
RULE_INPUTS = (*RULE_FEATURES, "traded_d0")
from risk_dagster.recommendations import ModelInfo


@dataclass
class ChampionScores:
    """predictions: trader_id, p_large_loss, pred_pnl, var_05 (traders with a usable champion);
    contributions: trader_id + per-feature contributions to the log-odds (positive = riskier);
    model_info: trader_id -> ModelInfo; missing: traders without a usable champion (scored by
    the rules baseline downstream), with the reason; var_multiplier: the firm-wide VaR
    multiplier applied (``multiplier``, ``multiplier_as_of``: the last outcome date counted,
    ``at_training``: the evaluation's value, ``start``: the value it was moved on from,
    ``start_from``: 'previous scores' or 'evaluation', ``outcomes_counted`` since)."""

    predictions: pd.DataFrame
    contributions: pd.DataFrame
    model_info: dict[str, ModelInfo]
    missing: dict[str, str] = field(default_factory=dict)
    var_multiplier: dict = field(default_factory=dict)


def _trained_on(meta: dict) -> dt.date:
    window = meta.get("training_window") or {}
    value = window.get("last_trade_date") or meta.get("created_at", "1970-01-01")[:10]
    return dt.date.fromisoformat(value)


def score_with_champions(latest: pd.DataFrame, load_history: Callable[[list[str]], pd.DataFrame],
                         day: dt.date, models_root: Path,
                         load_outcomes: Callable[[dt.date | None], pd.DataFrame] | None = None,
                         carried: Multiplier | None = None) -> ChampionScores:
    """Score every trader in ``latest`` (their feature rows on ``day``).

    ``load_history(columns)``: those traders' feature rows up to ``day`` with ``trade_date``,
    ``trader_id`` and ``columns`` (only what the champions need is read). ``var_05`` is the
    champion's forecast times the scale its pointer carries and times the firm-wide tracked
    multiplier, moved on by the published outcomes since its state (``load_outcomes(as_of)``:
    ``label_date``, ``violated`` of the VaRs published before, labelled after ``as_of`` and by
    ``day``'s close). The state moved on is ``carried``, the one the latest scores before
    ``day`` were published with, when there is one: the live tracking goes on across weekly
    evaluations (restarting it from each evaluation's walk-forward value undid the published
    outcomes' push: half a year breached 5.83%, Kupiec p 0.018). The evaluation's state
    (``var_calibration`` of the pointers; 1 when absent) starts it, before any score.
    """
    groups: dict[str, list[str]] = {}
    missing: dict[str, str] = {}
    var_scale: dict[str, float] = {}  # the champion's out-of-sample VaR calibration
    trained = Multiplier()
    for tid in latest["trader_id"]:
        champ = read_champion(models_root, tid)
        path = champion_model_path(models_root, champ)
        if path is None:
            missing[tid] = ("no champion model" if not champ
                            else f"champion model missing at {champ.get('path')}")
            continue
        groups.setdefault(str(path), []).append(tid)
        var_scale[tid] = float((champ.get("var_calibration") or {}).get("scale", 1.0))
        # one evaluation writes every pointer with the same firm-wide state: take the newest
        state = Multiplier.from_dict(champ.get("var_calibration"))
        if state.as_of is not None and (trained.as_of is None or state.as_of > trained.as_of):
            trained = state
    start, start_from = trained, "evaluation"
    if carried is not None and carried.as_of is not None and groups:
        start, start_from = carried, "previous scores"
    multiplier, counted = start, 0
    if load_outcomes is not None and groups:
        multiplier, counted = advance_multiplier(start, load_outcomes(start.as_of))
    var_multiplier = {**multiplier.to_dict(), "at_training": trained.value,
                      "start": start.value, "start_from": start_from,
                      "outcomes_counted": counted}
    models = {path: load_model(path) for path in groups}
    needed = sorted({f for m in models.values() for f in m.features} | set(RULE_INPUTS))
    history = load_history([c for c in needed if c in latest.columns]) if models else latest
    preds, contribs, info = [], [], {}
    for path, traders in groups.items():
        model = models[path]
        rows = history[history["trader_id"].isin(traders)].sort_values(["trader_id", "trade_date"])
        last = (rows["trade_date"] == day).to_numpy()
        if hasattr(model, "predict_rows"):  # LightGBM: trees only on the scored rows
            p, c = model.predict_rows(rows, last)
        else:  # the baselines are cheap
            p, c = model.predict(rows)[last], model.contributions(rows)[last]
        ids = rows.loc[last, "trader_id"].to_numpy()
        preds.append(p.assign(trader_id=ids))
        contribs.append(c.drop(columns=["bias", "trader_code"], errors="ignore").assign(trader_id=ids))
        mi = ModelInfo(model.meta["family"], model.meta["version"], _trained_on(model.meta))
        info.update({tid: mi for tid in ids})
    cols = ["trader_id", "p_large_loss", "pred_pnl", "var_05"]
    empty = pd.DataFrame({"trader_id": pd.Series(dtype=str),
                          **{c: pd.Series(dtype=float) for c in cols[1:]}})
    predictions = pd.concat(preds, ignore_index=True)[cols] if preds else empty
    if len(predictions):
        predictions["var_05"] = calibrated_var(
            predictions["var_05"],
            predictions["trader_id"].map(var_scale).fillna(1.0) * multiplier.value)
    contributions = pd.concat(contribs, ignore_index=True) if contribs else pd.DataFrame(
        columns=["trader_id"])
    return ChampionScores(predictions, contributions, info, missing, var_multiplier)
