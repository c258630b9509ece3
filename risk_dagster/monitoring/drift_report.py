"""Drift and decay of each trader's champion on a date, and what to retrain.

Reference: the trader's feature rows inside the champion's training window (its last
``reference_rows``, never its first ``warmup_rows`` nor its rows up to its last drift-triggered
retraining: ``drift.reference_window``); current: the rows after that window up to the date.
A date still inside the training window has nothing to compare and is skipped (``status``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from risk_dagster.evaluation.champions import champion_model_path, read_champion
from risk_dagster.models import load_model
from risk_dagster.monitoring.config import MonitoringConfig
from risk_dagster.monitoring.behaviour import STATE_COLUMNS
from risk_dagster.monitoring.decay import live_decay
from risk_dagster.monitoring.drift import (PREDICTION, drift_scores, fit_from_json,
                                           fit_reference, fit_to_json, reference_digest,
                                           reference_span, save_drift_html, unfilled_windows)
from risk_dagster.monitoring.retrain import retrain_decisions
from risk_dagster.monitoring.rows import Rows, days, firm_rows


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


REFERENCE_FITS = "drift_reference_fits"  # folder of the data directory: DriftCache.store
STORE_DAYS = 30  # a stored reference fit unused this long is removed (DriftCache.prune)
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
    trader, champion, cutoff and reference start).

    ``store``: a folder where reference fits also persist across runs, each under the digest
    of what it was fitted from (``drift.reference_digest``): a reference stays the same until
    the trader's champion changes, so each morning's run reads it instead of fitting it again
    (the fit is about two thirds of a check). Files not used for ``STORE_DAYS`` are removed by
    ``prune``.
    """

    models: dict = field(default_factory=dict)
    references: dict = field(default_factory=dict)
    tested: dict = field(default_factory=dict)
    store: Path | None = None
    stored: int = 0  # fits read from the store / written to it by this cache
    written: int = 0

    def reference_fit(self, key: tuple, reference: Rows, current: Rows, features: list[str],
                      cfg: MonitoringConfig):
        """``drift.fit_reference`` of the reference ``key`` names (trader, champion, cutoff,
        reference start), from this run, the store, or fitted now (and stored)."""
        if key in self.references:
            return self.references[key]
        fit, path = None, None
        if self.store is not None:
            path = Path(self.store) / f"{reference_digest(reference, current, features, cfg)}.json"
            try:
                fit = fit_from_json(json.loads(path.read_text()))
                os.utime(path)  # in use: kept by prune
                self.stored += 1
            except (OSError, ValueError, KeyError, TypeError):  # absent or unreadable: fit it
                fit = None
        if fit is None:
            fit = fit_reference(reference, current, features, cfg)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
                tmp.write_text(json.dumps(fit_to_json(*fit)))
                os.replace(tmp, path)
                self.written += 1
        self.references[key] = fit
        return fit

    def prune(self, days: int | None = None) -> int:
        """Remove stored fits not used for ``days`` (default ``STORE_DAYS``); how many."""
        if self.store is None or not Path(self.store).is_dir():
            return 0
        cutoff = time.time() - 86400 * (STORE_DAYS if days is None else days)
        old = [p for p in Path(self.store).glob("*.json") if p.stat().st_mtime < cutoff]
        for p in old:
            p.unlink(missing_ok=True)
        return len(old)

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
        columns = set(columns)
        present = [f for f in names if f in columns]
        return present, {f: windows[f] for f in present}


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

    Every trader's rows are read from ``features`` once, into one matrix of the columns the
    checks and the champions read (``rows.firm_rows``); each pooled model predicts all its
    traders in one call; the labels are joined once.
    """
    last = {t: d for t, d in (last_retrain or {}).items() if d <= day}
    cache = DriftCache() if cache is None else cache
    todays = sorted(features.loc[features["trade_date"] == day, "trader_id"])
    if not todays:  # no trader has a row on this date (an exchange holiday, or no data yet)
        return empty_drift_report()
    champs = {tid: read_champion(models_root, tid) for tid in todays}
    served = {}  # trader -> (pointer path, model)
    for tid in todays:
        path = champion_model_path(models_root, champs[tid])
        if path is not None:
            served[tid] = (champs[tid]["path"], cache.model(champs[tid]["path"], path))
    tested = {key: cache.features(key, model.features, features.columns)
              for key, model in served.values()}
    history = firm_rows(features, list(served), _columns(served, tested, features.columns, cfg))
    spans = {tid: _spans(history[tid], model, day, cfg, last.get(tid))
             for tid, (_, model) in served.items()}
    probabilities = _probabilities(history, served, spans)
    rows, drift, checked = [], {}, {}
    for tid in todays:
        champ = champs[tid]
        row = {"trade_date": day, "trader_id": tid, "status": "no champion",
               "skip_reason": "no champion: no validated model, scored by the rules baseline"}
        if tid in served:
            key, model = served[tid]
            row.update(_check(history[tid], spans[tid], probabilities.get(tid), model, cfg,
                              engine, html_dir, drift, checked, last.get(tid), cache, key,
                              tested[key]))
            row["champion"] = f"{model.meta['family']}/{model.meta['version']}"
        elif champ and champ.get("path"):
            row["skip_reason"] = f"no champion: its model folder is missing ({champ['path']})"
        rows.append(row)
    decay = _decay(checked, labels, cfg, {r["trader_id"]: r for r in rows})
    decisions = {d.trader_id: d for d in retrain_decisions(drift, decay, last, day, cfg,
                                                           calendar=calendar)}
    out = pd.DataFrame(rows)
    out["retrain"] = out["trader_id"].map(lambda t: t in decisions)
    out["retrain_reason"] = out["trader_id"].map(lambda t: decisions[t].reason if t in decisions else None)
    out["retrain_detail"] = out["trader_id"].map(lambda t: decisions[t].detail if t in decisions else None)
    out["run_key"] = out["trader_id"].map(lambda t: decisions[t].run_key if t in decisions else None)
    extra = [c for c in out.columns if c not in REPORT_COLUMNS]
    return out.reindex(columns=[*REPORT_COLUMNS, *extra])


def _columns(served: dict, tested: dict, present, cfg: MonitoringConfig) -> list[str]:
    """What the checks read: every champion's inputs (required) and drift-tested features,
    and the shift test's columns that ``features`` has."""
    present = set(present)
    needed = [c for _, model in served.values() for c in model.input_columns]
    needed += [c for names, _ in tested.values() for c in names]
    needed += [c for c in (*cfg.shift_features, *STATE_COLUMNS) if c in present]
    return list(dict.fromkeys(needed))


@dataclass(frozen=True)
class _Span:
    """Positions in one trader's sorted rows: the champion's last training date ``end``, the
    reference ``lo:hi`` (``drift.reference_span``) and the current rows ``c0:c1`` (after
    ``end``, up to the date)."""

    end: dt.date
    lo: int
    hi: int
    c0: int
    c1: int

    @property
    def first(self) -> int:
        """The first row predicted: the reference's (adjacent to the current rows), or the
        first current row without a reference."""
        return self.lo if self.hi > self.lo else self.c0


def _spans(rows: Rows, model, day: dt.date, cfg: MonitoringConfig, since) -> _Span:
    window = model.meta.get("training_window") or {}
    end = dt.date.fromisoformat(window.get("last_trade_date", day.isoformat()))
    c0 = int(np.searchsorted(rows.dates, np.datetime64(end, "D"), "right"))
    c1 = int(np.searchsorted(rows.dates, np.datetime64(day, "D"), "right"))
    lo, hi = reference_span(rows.dates, end, cfg, since)
    return _Span(end, lo, hi, c0, max(c0, c1))


def _frame(rows: list[Rows], columns) -> pd.DataFrame:
    """A model's input frame of some traders' ``rows`` one after the other (its feature
    columns and the keys)."""
    frame = pd.DataFrame(np.concatenate([r.matrix(columns) for r in rows]), columns=list(columns))
    frame["trader_id"] = np.repeat([r.trader_id for r in rows], [len(r) for r in rows])
    frame["trade_date"] = np.concatenate([r.dates for r in rows]).astype("datetime64[ns]")
    return frame


def _probabilities(history: dict[str, Rows], served: dict, spans: dict) -> dict[str, np.ndarray]:
    """``p_large_loss`` of each checked trader's rows ``first:c1`` (reference and current). A
    pooled model's inputs are built from each of its traders' whole history (its normalisation
    is per trader, over the trader's past) and its classifier runs once for all of them; the
    other champions read each row's own inputs."""
    todo = {t: s for t, s in spans.items() if s.c1 > s.c0}
    pooled: dict[str, list[str]] = {}
    out = {}
    for tid, span in todo.items():
        key, model = served[tid]
        if getattr(model, "pooled", False):
            pooled.setdefault(key, []).append(tid)
            continue
        frame = _frame([history[tid].rows(span.first, span.c1)], model.input_columns)
        out[tid] = model.predict_probability(frame, np.ones(len(frame), dtype=bool))
    for key, tids in pooled.items():
        model = served[tids[0]][1]
        design = model.design(_frame([history[t] for t in tids], model.input_columns))
        starts = np.cumsum([0, *(len(history[t]) for t in tids)])
        picks = [np.arange(a + todo[t].first, a + todo[t].c1) for t, a in zip(tids, starts)]
        p = model.probability_of_design(design[np.concatenate(picks)])
        bounds = np.cumsum([0, *(len(x) for x in picks)])
        out.update({t: p[a:b] for t, a, b in zip(tids, bounds[:-1], bounds[1:], strict=True)})
    return out


def _reference_rows(rows: Rows, span: _Span, windows: dict[str, int], p: np.ndarray,
                    cfg: MonitoringConfig) -> tuple[Rows, Rows]:
    """The reference (long-window features NaN before they are full: ``drift.reference_window``)
    and current rows, each with its ``p_large_loss``."""
    ref = rows.rows(span.lo, span.hi)
    long = {rows.index[c]: w for c, w in unfilled_windows(windows, cfg).items() if c in rows}
    values = ref.values
    if long:
        values = values.copy()
        position = np.arange(span.lo, span.hi)
        for j, w in long.items():
            values[position < w, j] = np.nan
    ref = Rows(values, ref.names, ref.dates, ref.trader_id, ref.index)
    p_ref = p[span.lo - span.first:span.hi - span.first] if span.hi > span.lo else np.empty(0)
    cur = rows.rows(span.c0, span.c1).with_column(PREDICTION, p[span.c0 - span.first:])
    return ref.with_column(PREDICTION, p_ref), cur


def _check(rows: Rows, span: _Span, p, model, cfg, engine, html_dir, drift, checked,
           last_retrain, cache: DriftCache, path: str, tested) -> dict:
    tid = rows.trader_id
    if span.c1 <= span.c0:
        return {"status": "inside training window",
                "skip_reason": f"inside training window: the champion was trained on rows up "
                f"to {span.end.isoformat()}, nothing after it to compare"}
    features, windows = tested
    reference, current = _reference_rows(rows, span, windows, p, cfg)
    html = None
    # the reference is the same for every later date, until the champion changes
    calibration, baseline = cache.reference_fit((tid, path, span.end, last_retrain), reference,
                                                current, features, cfg)
    result = drift_scores(reference, current, features, cfg, calibration=calibration,
                          baseline=baseline, engine=engine)
    if result.drifted and html_dir is not None:  # the Evidently report, for people to look at
        html = Path(html_dir) / f"{tid}.html"
        save_drift_html(reference.to_frame(), current.to_frame(), features, cfg, html, result)
    drift[tid] = result
    cv = model.meta.get("cv_metrics") or {}
    training = {k: cv[k] for k in ("auc", "brier") if cv.get(k) is not None}
    # flag the trader's riskiest days as at training: the top decile of its reference predictions
    p_ref = reference[PREDICTION]
    p_ref = p_ref[~np.isnan(p_ref)]
    training["flag_threshold"] = float(np.percentile(p_ref, np.array([1 - FLAG_BUDGET]) * 100.0)[0]) \
        if len(p_ref) else float("nan")
    checked[tid] = (current, training)
    short = len(reference) < cfg.min_reference_sessions
    return {"status": "checked", "drifted": result.drifted, "drift_reason": result.reason,
            "drift_tested": not short,
            "skip_reason": f"reference too short: {result.reason}" if short else None,
            "drift_score": result.score, "drift_share": result.drift_share,
            "drifted_features": ", ".join(result.drifted_features),
            "prediction_pvalue": result.prediction_pvalue, "n_current": len(current),
            "training_auc": training.get("auc"), "training_brier": training.get("brier"),
            "report_html": str(html) if html else None}


_LABEL_COLUMNS = ["trader_id", "trade_date", "large_loss", "next_net_pnl", "label_status"]


def _decay(checked: dict, labels: pd.DataFrame, cfg: MonitoringConfig,
           rows: dict[str, dict]) -> dict:
    """Live decay of every checked trader: its current rows joined with their labels in one
    merge (a left join keeps the rows' order), then ``decay.live_decay``; each row of the
    report gains its live figures."""
    if not checked:
        return {}
    tids = list(checked)
    sizes = [len(checked[t][0]) for t in tids]
    left = pd.DataFrame({"trader_id": np.repeat(tids, sizes),
                         "trade_date": np.concatenate([checked[t][0].dates for t in tids]),
                         "i": np.arange(sum(sizes))})
    right = labels.loc[labels["trader_id"].isin(tids), _LABEL_COLUMNS]
    right = right.assign(trade_date=days(right["trade_date"].to_numpy()))
    live = left.merge(right, on=["trade_date", "trader_id"], how="left")
    i = live["i"].to_numpy()
    y = live["large_loss"].to_numpy(dtype=float, na_value=np.nan)
    pnl = live["next_net_pnl"].to_numpy(dtype=float, na_value=np.nan)
    status = live["label_status"].to_numpy(dtype=object)
    starts = np.cumsum([0, *sizes])
    out = {}
    for tid, a, b in zip(tids, starts[:-1], starts[1:], strict=True):
        current, training = checked[tid]
        lo, hi = np.searchsorted(i, [a, b])
        out[tid] = dk = live_decay(current.dates[i[lo:hi] - a], current[PREDICTION][i[lo:hi] - a],
                                   y[lo:hi], pnl[lo:hi], status[lo:hi], training, cfg)
        rows[tid].update({"decayed": dk.decayed, "decay_reason": dk.reason, "live_n": dk.n,
                          "live_auc": dk.auc, "live_brier": dk.brier, "live_rank_ic": dk.rank_ic,
                          "live_cf_benefit_usd": dk.cf_benefit})
    return out
