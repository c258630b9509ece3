"""Per-trader risk scores for the morning: probability, expected P&L, VaR, a 0-100 score, reasons.

Risk score mapping: ``risk_score = 100 x p_large_loss`` (calibrated), rounded to 0.1, so a score
of 30 reads "a 30% chance that the next session is a large-loss day". The trader's own large-loss
threshold is their 10% quantile, so a typical score is about 10.

When the model has no prediction for a trader (or, in :func:`recommend`, when the model or the
data are stale) the trader is scored by the transparent rules baseline of
:class:`BaselineWeights` instead, and the source says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.recommendations.config import BaselineWeights, RecommendationConfig
from risk_dagster.recommendations.reasons import top_reasons

REQUIRED_FEATURES = (
    "net_pnl_d0", "loss_streak", "drawdown_21d", "large_losses_5d", "pnl_vol_21d",
    "activity_ratio_21d", "size_ratio_21d", "days_since_large_loss",
)
SOURCE_MODEL = "model"
SOURCE_BASELINE = "rules_baseline"
N_REASONS = 3


@dataclass(frozen=True)
class ModelInfo:
    """The champion that produced the predictions: family (``pooled_lgbm``...), version, and the
    last date of its training data."""

    family: str
    version: str
    trained_on: dt.date

    @classmethod
    def coerce(cls, value: ModelInfo | Mapping[str, Any]) -> ModelInfo:
        if isinstance(value, ModelInfo):
            return value
        return cls(str(value["family"]), str(value["version"]), as_date(value["trained_on"]))


def _model_for(model_info: Any, trader_id: str) -> ModelInfo:
    """``model_info`` is one ModelInfo (or its dict) for every trader, or a mapping trader_id ->
    ModelInfo with an optional ``"*"`` entry for the others."""
    if isinstance(model_info, ModelInfo) or (isinstance(model_info, Mapping) and "family" in model_info):
        return ModelInfo.coerce(model_info)
    entry = model_info.get(trader_id, model_info.get("*"))
    if entry is None:
        raise KeyError(f"no model info for trader {trader_id!r}")
    return ModelInfo.coerce(entry)


def as_date(value: Any) -> dt.date:
    """A date from a date, datetime, pandas Timestamp, numpy datetime64 or ISO string."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


def latest_rows(features: pd.DataFrame) -> pd.DataFrame:
    """The last row (by ``trade_date``) of each trader, indexed by ``trader_id``."""
    missing = [c for c in ("trade_date", "trader_id", *REQUIRED_FEATURES) if c not in features]
    if missing:
        raise KeyError(f"trader_features is missing required columns {missing}")
    ordered = features.assign(trade_date=features["trade_date"].map(as_date))
    ordered = ordered.sort_values(["trader_id", "trade_date"], kind="stable")
    return ordered.groupby("trader_id", sort=True).tail(1).set_index("trader_id")


def rules_baseline(latest: pd.DataFrame, weights: BaselineWeights) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score traders from the required features alone.

    ``latest``: one feature row per trader (index trader_id). Returns (scores with
    ``p_large_loss`` (0..1), ``pred_pnl`` (NaN: the baseline does not forecast P&L), ``var_05``
    (USD, -var_z x pnl_vol_21d); contributions: the probability increment of each rule, by feature).
    """
    f = latest
    w = weights
    vol = f["pnl_vol_21d"]
    contrib = pd.DataFrame(index=f.index)
    contrib["loss_streak"] = (f["loss_streak"] - 1).clip(0, w.streak_cap_days - 1) * w.per_streak_day
    contrib["large_losses_5d"] = f["large_losses_5d"].clip(lower=0) * w.per_large_loss_5d
    contrib["drawdown_21d"] = np.where(f["drawdown_21d"] > w.drawdown_vols * vol, w.drawdown_step, 0.0)
    contrib["activity_ratio_21d"] = np.where(
        (f["activity_ratio_21d"] > w.activity_after_loss_ratio) & (f["net_pnl_d0"] < 0),
        w.activity_after_loss_step, 0.0)
    contrib["size_ratio_21d"] = np.where(f["size_ratio_21d"] > w.size_ratio, w.size_step, 0.0)
    contrib["days_since_large_loss"] = np.where(
        f["days_since_large_loss"] <= w.recent_large_loss_days, w.recent_large_loss_step, 0.0)
    contrib = contrib.fillna(0.0)
    scores = pd.DataFrame(index=f.index)
    scores["p_large_loss"] = (w.base_p + contrib.sum(axis=1)).clip(0.0, w.max_p)
    scores["pred_pnl"] = np.nan
    scores["var_05"] = -w.var_z * vol
    return scores, contrib


def _reason_columns(contrib: pd.DataFrame, latest: pd.DataFrame, catalog: pd.DataFrame | None
                    ) -> tuple[list[list[str]], list[list[str]]]:
    names, texts = [], []
    for tid in contrib.index:
        pairs = top_reasons(contrib.loc[tid].to_dict(), latest.loc[tid].to_dict(), catalog, N_REASONS)
        names.append([k for k, _ in pairs])
        texts.append([t for _, t in pairs])
    return names, texts


def score_from_probability(p: pd.Series) -> pd.Series:
    """Risk score 0..100 = 100 x calibrated probability, rounded to 0.1."""
    return (100.0 * p.clip(0.0, 1.0)).round(1)


def _align(frame: pd.DataFrame, latest: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``frame`` for each trader's latest feature date, indexed by trader_id.

    ``frame`` either has ``trader_id`` (and maybe ``trade_date``) or shares ``features``' index.
    """
    if "trader_id" not in frame:
        frame = frame.join(features[["trader_id", "trade_date"]], how="inner", rsuffix="_f")
    if "trade_date" in frame:
        keys = latest["trade_date"].map(as_date).reset_index()
        frame = frame.assign(trade_date=frame["trade_date"].map(as_date))
        frame = frame.merge(keys, on=["trader_id", "trade_date"], how="inner")
    return frame.drop_duplicates("trader_id", keep="last").set_index("trader_id").reindex(latest.index)


def risk_scores(features: pd.DataFrame, predictions: pd.DataFrame, contributions: pd.DataFrame,
                catalog: pd.DataFrame | None, model_info: Any,
                cfg: RecommendationConfig | None = None) -> pd.DataFrame:
    """One row per trader for the session after their latest feature date.

    In: ``features`` (trader_features: trade_date, trader_id, feature columns), ``predictions``
    (trader_id [, trade_date], p_large_loss 0..1, pred_pnl USD, var_05 USD), ``contributions``
    (per-feature contributions to risk, positive = riskier; with trader_id [, trade_date] or on
    ``features``' index), the feature ``catalog`` (name, description, unit), and ``model_info``
    (a :class:`ModelInfo`, its dict, or trader_id -> ModelInfo with optional ``"*"``).
    Out: trade_date (feature date D), trader_id, p_large_loss, pred_pnl, var_05, risk_score
    (0..100), model_family, model_version, model_trained_on, score_source ('model' or
    'rules_baseline' when the model has no prediction), reason_features, reasons (3 plain words).
    """
    cfg = cfg or RecommendationConfig()
    latest = latest_rows(features)
    preds = _align(predictions, latest, features)[["p_large_loss", "pred_pnl", "var_05"]]
    feature_cols = [c for c in latest.columns if c != "trade_date"]
    contrib = _align(contributions, latest, features)
    contrib = contrib[[c for c in contrib.columns if c in feature_cols]]

    base_scores, base_contrib = rules_baseline(latest, cfg.baseline)
    no_pred = preds["p_large_loss"].isna()
    preds.loc[no_pred] = base_scores.loc[no_pred, preds.columns]
    contrib = contrib.reindex(columns=sorted(set(contrib.columns) | set(base_contrib.columns)))
    contrib.loc[no_pred] = base_contrib.reindex(columns=contrib.columns).loc[no_pred].fillna(0.0)

    out = preds.copy()
    out.insert(0, "trade_date", latest["trade_date"])
    out["risk_score"] = score_from_probability(out["p_large_loss"])
    models = [_model_for(model_info, t) for t in latest.index]
    out["model_family"] = [m.family for m in models]
    out["model_version"] = [m.version for m in models]
    out["model_trained_on"] = [m.trained_on for m in models]
    out["score_source"] = np.where(no_pred, SOURCE_BASELINE, SOURCE_MODEL)
    out["reason_features"], out["reasons"] = _reason_columns(contrib, latest, catalog)
    out.loc[no_pred, "reasons"] = pd.Series(
        [["no model prediction: scored by the rules baseline", *r] for r in out.loc[no_pred, "reasons"]],
        index=out.index[no_pred], dtype=object)
    return out.reset_index()
