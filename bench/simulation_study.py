"""Drift detection and retraining measured on the simulated firm (used by ``bench.drift``).

The study: simulate a firm (optionally with an injected ``trader_behaviour`` change), ingest it
into a lake, build the panel, features and labels, train each trader's champion on the sessions
up to a reference date, scan its features daily for drift, and compare the champion with a model
retrained after the change on days neither model saw.

The champion is chosen by the evaluation stage's one rule (``evaluation.champions``): the
trader's walk-forward predictions are evaluated and ``select_champions`` decides; a trader
without out-of-sample rows gets the fallback (``FALLBACK_FAMILIES``: no pooled model is trained
here, so its ``rules`` model).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from risk_dagster.core.calendar import sessions
from risk_dagster.core.lake import Lake
from risk_dagster.evaluation import EvaluationConfig, evaluate
from risk_dagster.evaluation.champions import FALLBACK_FAMILIES, select_champions
from risk_dagster.features import build_features
from risk_dagster.ingest.raw_partitions import ingest_batches
from risk_dagster.ingest.sources import SimulatorSource
from risk_dagster.labels import build_labels
from risk_dagster.models import CandidateResult, TrainingConfig, train_candidates
from risk_dagster.panel import build_trader_day_panel
from risk_dagster.simulator import SimulationConfig
from risk_dagster.simulator.engine import FirmSimulation

# The alternative tested set: the trader's own risk features (the contract's required ones) plus
# level features of activity and size, which an injected behaviour change moves directly. No
# firm-wide or market features: those move for every trader when some traders change.
FIXED_FEATURES = ("net_pnl_d0", "loss_streak", "drawdown_21d", "pnl_vol_21d",
                  "activity_ratio_21d", "size_ratio_21d", "n_fills_d0", "n_round_trips_d0",
                  "avg_order_notional_d0", "notional_d0", "max_position_notional_d0",
                  "intraday_max_drawdown_d0")


def simulate_frames(config: SimulationConfig, lake: Lake) -> dict:
    """Simulate ``config`` into ``lake`` and build its panel, features and labels.

    Out: dict with ``dates`` (sessions, python dates), ``fills`` (count), ``features`` and
    ``labels`` (the trader_features and risk_labels frames, ``trade_date`` as python date).
    """
    dates = [d.date() for d in sessions(config.calendar, config.start, config.end)]
    source = SimulatorSource(config, chunk_sessions=20)
    stats = ingest_batches(source.iter_batches(dates), lake, dates, config.calendar,
                           with_truth=True)
    panel = build_trader_day_panel(lake, dates, calendar=config.calendar)
    features, labels = build_features(panel), build_labels(panel)
    for frame in (features, labels):
        frame["trade_date"] = pd.to_datetime(frame["trade_date"]).dt.date
    labels["label_date"] = pd.to_datetime(labels["label_date"]).dt.date
    return {"dates": dates, "fills": stats.fills, "features": features, "labels": labels}


def full_period_traders(config: SimulationConfig) -> list[str]:
    """Traders who are in the simulated firm from its first to its last session (the simulator's
    join/leave draws depend only on the seed, so this is known before simulating)."""
    tr = FirmSimulation(config).traders
    n_sessions = len(sessions(config.calendar, config.start, config.end))
    return [f"T{i + 1:04d}" for i in range(tr.n) if tr.join[i] == 0 and tr.leave[i] >= n_sessions]


def choose_champion(result: CandidateResult, labels: pd.DataFrame,
                    cfg: EvaluationConfig | None = None) -> object | None:
    """The final model of the family ``select_champions`` picks on one trader's
    ``train_candidates`` result (its out-of-sample predictions against ``labels``); when it picks
    none (no out-of-sample rows), the first of ``FALLBACK_FAMILIES`` trained; else None."""
    decisions = {}
    if len(result.oos_predictions):
        evaluation = evaluate(result.oos_predictions, labels, None, cfg or EvaluationConfig())
        decisions = select_champions(evaluation)
    family = next(iter(decisions.values()), {}).get("chosen") or next(
        (f for f in FALLBACK_FAMILIES if f in result.final_models), None)
    return result.final_models.get(family)

def train_champion(features: pd.DataFrame, labels: pd.DataFrame, trader: str,
                   cutoff: dt.date, cfg: TrainingConfig) -> object | None:
    """Champion of ``trader`` trained on rows up to ``cutoff`` (trade_date and label_date).

    Only rows with trade_date <= cutoff are passed, and the final fit uses labels with
    label_date <= cutoff, so nothing after ``cutoff`` is seen. None when no family could train.
    """
    f = features[(features["trader_id"] == trader) & (features["trade_date"] <= cutoff)]
    lab = labels[(labels["trader_id"] == trader) & (labels["trade_date"] <= cutoff)]
    # A label that lands after the cutoff was not known at the cutoff: pending, not trained on.
    known = pd.to_datetime(lab["label_date"]) <= pd.Timestamp(cutoff)
    lab = lab.assign(label_status=lab["label_status"].where(known, "pending"))
    result = train_candidates(f, lab, trader, replace(cfg, cutoff=cutoff))
    return choose_champion(result, lab)


def predict_history(model, features: pd.DataFrame, trader: str) -> pd.DataFrame:
    """``trade_date, trader_id, p_large_loss`` over the trader's whole feature history (the
    model's trailing statistics need the history before each scored day)."""
    rows = features[features["trader_id"] == trader].sort_values("trade_date").reset_index(drop=True)
    pred = model.predict(rows)
    return pd.DataFrame({"trade_date": rows["trade_date"], "trader_id": trader,
                         "p_large_loss": pred["p_large_loss"].to_numpy(dtype=float)})


def score_window(predictions: pd.DataFrame, labels: pd.DataFrame, start: dt.date,
                 end: dt.date) -> pd.DataFrame:
    """Predictions with trade_date in [start, end] joined to their complete labels.

    Out: ``trade_date, trader_id, p_large_loss, large_loss`` (int 0/1)."""
    lab = labels[(labels["label_status"] == "complete") & labels["large_loss"].notna()]
    out = predictions[(predictions["trade_date"] >= start) & (predictions["trade_date"] <= end)]
    out = out.merge(lab[["trade_date", "trader_id", "large_loss"]], on=["trade_date", "trader_id"])
    return out.assign(large_loss=out["large_loss"].astype("int64"))


def probability_metrics(scored: pd.DataFrame) -> dict:
    """AUC, Brier, log-loss (fractions) of ``p_large_loss`` vs ``large_loss`` over all rows, and
    the mean per-trader AUC (traders with both classes). n, positives, base_rate alongside."""
    y = scored["large_loss"].to_numpy(np.int64)
    p = np.clip(scored["p_large_loss"].to_numpy(float), 1e-6, 1 - 1e-6)
    two = 0 < y.sum() < len(y)
    per = [roc_auc_score(g["large_loss"], g["p_large_loss"]) for _, g in scored.groupby("trader_id")
           if 0 < g["large_loss"].sum() < len(g)]
    return {"n": int(len(y)), "positives": int(y.sum()),
            "base_rate": float(y.mean()) if len(y) else math.nan,
            "auc": float(roc_auc_score(y, p)) if two else math.nan,
            "mean_trader_auc": float(np.mean(per)) if per else math.nan,
            "brier": float(brier_score_loss(y, p)) if len(y) else math.nan,
            "logloss": float(log_loss(y, p, labels=[0, 1])) if len(y) else math.nan}


def alarm_features(scan: pd.DataFrame) -> pd.Series:
    """How many alarming checks name each (test, column) in their reason (``scan_drift``
    output), most frequent first (the reason lists at most five columns per check)."""
    found = scan.loc[scan["drifted"], "reason"].str.findall(r"(\w+) \((KS|shift) (\d+)d")
    names = found.map(lambda hits: [f"{t} {w}d {c}" for c, t, w in hits])
    return names.explode().dropna().value_counts()


def nth_session_after(dates: list[dt.date], day: dt.date, n: int) -> dt.date:
    """The ``n``-th session on or after ``day`` (n = 1: the first session >= day)."""
    later = [d for d in dates if d >= day]
    if len(later) < n:
        raise ValueError(f"fewer than {n} sessions from {day}")
    return later[n - 1]
