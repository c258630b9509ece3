"""Drift detection and retraining measured on the simulated firm (used by ``bench/drift.py``).

The study: simulate a firm (optionally with an injected ``trader_behaviour`` change), ingest it
into a lake, build the panel, features and labels, train each trader's champion on the sessions
up to a reference date, scan its features daily for drift, and compare the champion with a model
retrained after the change on days neither model saw.

Champion here is a simplified version of the evaluation stage's rule (which needs the full
evaluation with counterfactuals): among ``trader_lgbm`` and ``logistic`` (never ``rules``), the
families whose walk-forward Brier score is no worse than the climatological one (constant base
rate), the highest walk-forward AUC wins; when none passes, ``logistic`` if trained.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow.compute as pc
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from risk_dagster.core.calendar import sessions
from risk_dagster.core.lake import Lake
from risk_dagster.features import build_features
from risk_dagster.ingest.raw_partitions import ingest_batches
from risk_dagster.labels import build_labels
from risk_dagster.models import TrainingConfig, train_candidates
from risk_dagster.panel import build_trader_day_panel
from risk_dagster.simulator import SimulationConfig, iter_simulation
from risk_dagster.simulator.engine import FirmSimulation

CHAMPION_FAMILIES = ("trader_lgbm", "logistic")

# The alternative tested set: the trader's own risk features (the contract's required ones) plus
# level features of activity and size, which an injected behaviour change moves directly. No
# firm-wide or market features: those move for every trader when some traders change.
FIXED_FEATURES = ("net_pnl_d0", "loss_streak", "drawdown_21d", "pnl_vol_21d",
                  "activity_ratio_21d", "size_ratio_21d", "n_fills_d0", "n_round_trips_d0",
                  "avg_order_notional_d0", "notional_d0", "max_position_notional_d0",
                  "intraday_max_drawdown_d0")


class _Batch:
    """One simulator chunk in the shape ``ingest_batches`` reads."""

    def __init__(self, batch):
        self.dates = sorted(pc.unique(batch.truth["trade_date"]).to_pylist())
        self.fills, self.totals, self.truth = batch.fills, batch.totals, batch.truth


def _batches(config: SimulationConfig) -> Iterator[_Batch]:
    for batch in iter_simulation(config, chunk_sessions=20):
        yield _Batch(batch)


def simulate_frames(config: SimulationConfig, lake: Lake) -> dict:
    """Simulate ``config`` into ``lake`` and build its panel, features and labels.

    Out: dict with ``dates`` (sessions, python dates), ``fills`` (count), ``features`` and
    ``labels`` (the trader_features and risk_labels frames, ``trade_date`` as python date).
    """
    dates = [d.date() for d in sessions(config.calendar, config.start, config.end)]
    stats = ingest_batches(_batches(config), lake, dates, config.calendar, with_truth=True)
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


def choose_champion(result) -> object | None:
    """The champion among a ``train_candidates`` result's final models (rule in module doc)."""
    passing = []
    for family in CHAMPION_FAMILIES:
        cv = result.cv_metrics.get(family, {})
        if family not in result.final_models or not cv:
            continue
        base = cv.get("base_rate", math.nan)
        auc, brier = cv.get("auc", math.nan), cv.get("brier", math.nan)
        if not (math.isnan(auc) or math.isnan(brier)) and brier <= base * (1 - base):
            passing.append((auc, family))
    if passing:
        return result.final_models[max(passing)[1]]
    return result.final_models.get("logistic")


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
    return choose_champion(result)


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
