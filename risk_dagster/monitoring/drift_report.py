"""Drift and decay of each trader's champion on a date, and what to retrain.

Reference: the trader's feature rows inside the champion's training window (its last
``reference_rows``, never its first ``warmup_rows`` nor its rows up to its last drift-triggered
retraining: ``drift.reference_window``); current: the rows after that window up to the date.
A date still inside the training window has nothing to compare and is skipped (``status``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from risk_dagster.evaluation.champions import champion_model_path, read_champion
from risk_dagster.models import load_model
from risk_dagster.monitoring.config import MonitoringConfig
from risk_dagster.monitoring.decay import performance_decay
from risk_dagster.monitoring.drift import (drift_scores, fit_reference, reference_window,
                                           save_drift_html)
from risk_dagster.monitoring.retrain import retrain_decisions


# Firm-wide and market features move for every trader at once (a regime change, or a change
# in other traders), so per-trader drift tests leave them out: on the simulator they made
# unaffected traders alarm on a quarter of trader-weeks after 10 others changed (bench/drift.py).
FIRM_WIDE_CATEGORIES = ("market",)


# Features over the trader's whole history (tenure, the expanding large-loss threshold, the
# drawdown from the all-time peak...) trend by construction: a later window always differs from
# the reference, whatever the trader does.
TRENDING_WINDOW_PREFIX = "expanding"


def drift_features(model_features, catalog: pd.DataFrame | None = None) -> list[str]:
    """What the KS tests cover: the champion's features that describe the trader's own recent
    behaviour, i.e. neither firm-wide/market nor expanding-window ones (the behaviour fingerprint
    has its own shift test, ``behaviour.py``)."""
    from risk_dagster.features import feature_catalog

    catalog = feature_catalog() if catalog is None else catalog
    left_out = catalog["category"].isin(FIRM_WIDE_CATEGORIES) | \
        catalog["window"].astype(str).str.startswith(TRENDING_WINDOW_PREFIX)
    skip = set(catalog.loc[left_out, "name"])
    return [f for f in model_features if f in set(catalog["name"]) and f not in skip]


def feature_windows(names, catalog: pd.DataFrame | None = None) -> dict[str, int]:
    """Rows each feature needs before it is full: the largest number in its catalog window
    ("63 traded days" -> 63, "7 vs 63 traded days" -> 63; 0 when there is none, e.g. "D")."""
    from risk_dagster.features import feature_catalog

    catalog = feature_catalog() if catalog is None else catalog
    window = catalog.set_index("name")["window"].astype(str)
    out = {}
    for name in names:
        numbers = [int(x) for x in re.findall(r"\d+", window.get(name, ""))]
        out[name] = max(numbers, default=0)
    return out


RETRAIN_LOG = "retrain_log"  # lake asset: one row per drift-triggered retraining of a trader
FLAG_BUDGET = 0.10  # share of a trader's days flagged for the live counterfactual benefit


def last_drift_retrains(lake) -> dict[str, dt.date]:
    """Date (of the drift report that asked) of each trader's last drift-triggered retraining:
    the cooldown clock. Scheduled weekly retraining does not count, or the cooldown would block
    every drift alarm."""
    keys = lake.keys(RETRAIN_LOG, "trader")
    if not keys:
        return {}
    log = lake.read_df(RETRAIN_LOG, "trader", keys)
    return {t: dt.date.fromisoformat(str(d)[:10])
            for t, d in log.groupby("trader_id")["drift_report_date"].max().items()}


# Columns of a drift report, in order (an empty date still has them, so a range concatenates).
REPORT_COLUMNS = (
    "trade_date", "trader_id", "status", "skip_reason", "drift_tested", "drifted",
    "drift_reason", "drift_score", "drift_share", "drifted_features", "prediction_pvalue",
    "n_current", "decayed", "decay_reason", "live_n", "live_auc", "training_auc", "live_brier",
    "training_brier", "live_rank_ic", "live_cf_benefit_usd", "report_html", "champion",
    "retrain", "retrain_reason", "retrain_detail", "run_key")


def empty_drift_report() -> pd.DataFrame:
    """A drift report with no trader (a date on which no trader has a feature row)."""
    out = pd.DataFrame({c: pd.Series(dtype=object) for c in REPORT_COLUMNS})
    return out.astype({"retrain": bool})


@dataclass
class DriftCache:
    """What stays the same across the dates of one run: the loaded champions (the pooled model
    serves many traders) and each reference's calibration and behaviour baseline (keyed by
    trader, champion, cutoff and reference start)."""

    models: dict = field(default_factory=dict)
    references: dict = field(default_factory=dict)
    tested: dict = field(default_factory=dict)

    def model(self, key: str, path: Path):
        """The model of the champion pointers whose ``path`` is ``key``, loaded once from
        ``path`` (its folder)."""
        if key not in self.models:
            self.models[key] = load_model(path)
        return self.models[key]

    def features(self, path: str, model_features, columns) -> tuple[list[str], dict[str, int]]:
        """The champion's drift-tested features present in ``columns`` and their windows (the
        catalog is read once per champion, not once per trader)."""
        if path not in self.tested:
            from risk_dagster.features import feature_catalog

            catalog = feature_catalog()
            names = drift_features(model_features, catalog)
            self.tested[path] = (names, feature_windows(names, catalog))
        names, windows = self.tested[path]
        present = [f for f in names if f in set(columns)]
        return present, {f: windows[f] for f in present}


def predict_probability(model, history: pd.DataFrame, rows: np.ndarray,
                        design: np.ndarray | None = None) -> np.ndarray:
    """``p_large_loss`` of the ``rows`` (boolean mask) of one trader's ``history``, NaN elsewhere:
    LightGBM runs only its classifier, on those rows; the baselines predict every row (cheap).
    ``design``: the model's inputs for every row of ``history``, when already built."""
    out = np.full(len(history), np.nan)
    if design is not None:
        out[rows] = model.probability_of_design(design[rows])
    elif hasattr(model, "predict_probability"):
        out[rows] = model.predict_probability(history, rows)
    else:
        out[rows] = model.predict(history)["p_large_loss"].to_numpy()[rows]
    return out


def champion_drift_report(features: pd.DataFrame, labels: pd.DataFrame, day: dt.date,
                          models_root: Path, cfg: MonitoringConfig, *, calendar: str,
                          last_retrain: dict[str, dt.date] | None = None, engine: str = "scipy",
                          html_dir: Path | None = None,
                          cache: DriftCache | None = None) -> pd.DataFrame:
    """One row per trader with a feature row on ``day``: drift, decay and the retrain decision.

    Never raises for a trader it cannot judge: ``status`` says what was done (``checked``,
    ``no champion``, ``inside training window``) and ``skip_reason`` why a trader's drift was
    not tested (no champion, inside the training window, a reference too short: its decay is
    still measured); a date without any trader row gives an empty report with every column.

    features: trader_features up to ``day`` (those traders' full history); labels: risk_labels;
    last_retrain: date of each trader's last drift-triggered retraining (the cooldown, and the
    start of its reference: ``drift.reference_window``).
    ``html_dir``: where to save the Evidently HTML report of each drifted trader.
    ``cache``: pass one ``DriftCache`` to the calls for every date of a range.
    """
    rows, drift, decay = [], {}, {}
    last = {t: d for t, d in (last_retrain or {}).items() if d <= day}
    cache = DriftCache() if cache is None else cache
    # each trader's rows once (a mask over every trader's rows per trader is quadratic)
    by_trader = {t: g for t, g in features.groupby("trader_id", sort=False)}
    label_cols = ["trade_date", "trader_id", "large_loss", "next_net_pnl", "label_status"]
    labels_by = {t: g for t, g in labels[label_cols].groupby("trader_id", sort=False)}
    no_labels = labels[label_cols].iloc[0:0]
    todays = sorted(features.loc[features["trade_date"] == day, "trader_id"])
    champs = {tid: read_champion(models_root, tid) for tid in todays}
    designs = _shared_designs(by_trader, champs, models_root, cache)
    for tid in todays:
        champ = champs[tid]
        row = {"trade_date": day, "trader_id": tid, "status": "no champion",
               "skip_reason": "no champion: no validated model, scored by the rules baseline"}
        path = champion_model_path(models_root, champ)
        if path is not None:
            model = cache.model(champ["path"], path)
            row.update(_trader(by_trader[tid], labels_by.get(tid, no_labels), day, model, cfg,
                               engine, html_dir, drift, decay, last.get(tid),
                               cache, champ["path"], designs.get(tid)))
            row["champion"] = f"{model.meta['family']}/{model.meta['version']}"
        elif champ and champ.get("path"):
            row["skip_reason"] = f"no champion: its model folder is missing ({champ['path']})"
        rows.append(row)
    if not rows:  # no trader has a row on this date (an exchange holiday, or no data yet)
        return empty_drift_report()
    decisions = {d.trader_id: d for d in retrain_decisions(drift, decay, last, day, cfg,
                                                           calendar=calendar)}
    out = pd.DataFrame(rows)
    out["retrain"] = out["trader_id"].map(lambda t: t in decisions)
    out["retrain_reason"] = out["trader_id"].map(lambda t: decisions[t].reason if t in decisions else None)
    out["retrain_detail"] = out["trader_id"].map(lambda t: decisions[t].detail if t in decisions else None)
    out["run_key"] = out["trader_id"].map(lambda t: decisions[t].run_key if t in decisions else None)
    extra = [c for c in out.columns if c not in REPORT_COLUMNS]
    return out.reindex(columns=[*REPORT_COLUMNS, *extra])


def _sorted_history(history: pd.DataFrame) -> pd.DataFrame:
    return history.sort_values("trade_date", kind="stable").reset_index(drop=True)


def _shared_designs(by_trader: dict, champs: dict, models_root: Path,
                    cache: DriftCache) -> dict[str, np.ndarray]:
    """Per trader whose champion is a pooled model serving several of them: that model's inputs
    for every row of the trader's history, built in one pass for all of them (the pooled
    normalisation is per trader, so this is what each trader's own pass gives, without a
    groupby per trader: 24 of the ~54 ms per trader at 500 traders)."""
    groups: dict[str, list[str]] = {}
    for tid, champ in champs.items():
        if champ and champ.get("path") and champion_model_path(models_root, champ) is not None:
            groups.setdefault(champ["path"], []).append(tid)
    out = {}
    for key, tids in groups.items():
        model = cache.model(key, champion_model_path(models_root, champs[tids[0]]))
        if len(tids) < 2 or not getattr(model, "pooled", False):
            continue
        frames = [_sorted_history(by_trader[t]) for t in tids]
        design = model.design(pd.concat(frames, ignore_index=True))
        bounds = np.cumsum([0, *(len(f) for f in frames)])
        out.update({t: design[a:b] for t, a, b in zip(tids, bounds[:-1], bounds[1:],
                                                      strict=True)})
    return out


def _trader(history, labels, day, model, cfg, engine, html_dir, drift, decay,
            last_retrain, cache: DriftCache, path: str, design: np.ndarray | None = None) -> dict:
    tid = history["trader_id"].iloc[0]
    window = model.meta.get("training_window") or {}
    end = dt.date.fromisoformat(window.get("last_trade_date", day.isoformat()))
    history = _sorted_history(history)
    current = history[(history["trade_date"] > end) & (history["trade_date"] <= day)]
    if current.empty:
        return {"status": "inside training window",
                "skip_reason": f"inside training window: the champion was trained on rows up "
                f"to {end.isoformat()}, nothing after it to compare"}
    features, windows = cache.features(path, model.features, history.columns)
    reference = reference_window(history, end, cfg, windows, last_retrain)
    # the prediction of the reference and current rows only (the inputs still come from the
    # whole history: the pooled model normalises over it)
    needed = np.zeros(len(history), dtype=bool)
    needed[reference.index] = needed[current.index] = True
    p = predict_probability(model, history, needed, design)
    reference = reference.assign(p_large_loss=p[reference.index])
    current = current.assign(p_large_loss=p[current.index])
    html = None
    key = (tid, path, end, last_retrain)
    if key not in cache.references:  # the reference is the same for every later date
        cache.references[key] = fit_reference(reference, current, features, cfg)
    calibration, baseline = cache.references[key]
    result = drift_scores(reference, current, features, cfg, calibration=calibration,
                          baseline=baseline, engine=engine)
    if result.drifted and html_dir is not None:  # the Evidently report, for people to look at
        html = Path(html_dir) / f"{tid}.html"
        save_drift_html(reference, current, features, cfg, html, result)
    drift[tid] = result
    live = current.merge(labels, on=["trade_date", "trader_id"], how="left")
    cv = model.meta.get("cv_metrics") or {}
    training = {k: cv[k] for k in ("auc", "brier") if cv.get(k) is not None}
    # flag the trader's riskiest days as at training: the top decile of its reference predictions
    training["flag_threshold"] = float(reference["p_large_loss"].quantile(1 - FLAG_BUDGET)) \
        if len(reference) else float("nan")
    decay[tid] = dk = performance_decay(live, training, cfg)
    short = len(reference) < cfg.min_reference_sessions
    return {"status": "checked", "drifted": result.drifted, "drift_reason": result.reason,
            "drift_tested": not short,
            "skip_reason": f"reference too short: {result.reason}" if short else None,
            "drift_score": result.score, "drift_share": result.drift_share,
            "drifted_features": ", ".join(result.drifted_features),
            "prediction_pvalue": result.prediction_pvalue, "n_current": len(current),
            "decayed": dk.decayed, "decay_reason": dk.reason, "live_n": dk.n,
            "live_auc": dk.auc, "training_auc": training.get("auc"), "live_brier": dk.brier,
            "training_brier": training.get("brier"), "live_rank_ic": dk.rank_ic,
            "live_cf_benefit_usd": dk.cf_benefit, "report_html": str(html) if html else None}
