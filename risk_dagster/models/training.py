"""Train the candidate families of one trader (or the pooled model) with walk-forward validation.

For each outer fold (expanding, purged, embargoed) the training rows are split into a fit part
and a later calibration slice; feature selection and Optuna tuning see the fit part only, the
calibration slice sets the probability mapping, and the test fold is only ever predicted. The
final (serving) fit repeats the same steps on every complete label up to the cut-off.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from risk_dagster.models.baselines import fit_logistic, fit_rules
from risk_dagster.models.config import KEY_COLUMNS, POOLED, RULE_FEATURES, TrainingConfig
from risk_dagster.models.frames import (
    TRAINING_LABELS, attach_labels, feature_columns, fingerprint, is_sorted, labelled_rows,
    normalize_by_trader, training_frame,
)
from risk_dagster.models.lgbm import subsample_rows, fit_lgbm
from risk_dagster.models.metrics import oos_metrics
from risk_dagster.models.selection import select_features
from risk_dagster.models.splits import calibration_split, walk_forward_splits
from risk_dagster.models.tuning import make_storage

PRED_COLUMNS = ["trade_date", "trader_id", "model", "fold", "p_large_loss", "pred_pnl", "var_05"]


@dataclass
class CandidateResult:
    """oos_predictions: the 'Model predictions' contract frame (every test-fold row, per family);
    final_models: family -> fitted model for serving (``save_model`` writes it);
    cv_metrics: family -> ``oos_metrics`` dict; fold_details: per fold, what each family chose."""

    oos_predictions: pd.DataFrame
    final_models: dict[str, object]
    cv_metrics: dict[str, dict]
    fold_details: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class _Run:
    cfg: TrainingConfig
    owner: str
    columns: list[str]
    run_id: str
    storage: object
    previous: dict = field(default_factory=dict)  # family -> earlier tuning records
    sessions: np.ndarray | None = None  # the training frame's sessions (datetime64, sorted)


def reusable_tuning(records: list[dict], fit: pd.DataFrame, sessions: np.ndarray,
                    retune_sessions: int | None) -> dict | None:
    """The newest of ``records`` (``info["tuning"]`` of earlier fits; a reused record keeps the
    dates of the study it came from) that a fit on ``fit``'s rows may reuse: tuned on rows whose
    labels all end no later than ``fit``'s, and whose last session is at most
    ``retune_sessions`` sessions (counted on ``sessions``) before ``fit``'s last one. None: tune
    afresh (always when ``retune_sessions`` is None)."""
    if retune_sessions is None or not records or fit.empty:
        return None
    last_trade = np.datetime64(pd.Timestamp(fit["trade_date"].max()), "ns")
    last_label = pd.Timestamp(fit["label_date"].max())
    best = None
    for rec in records:
        tuned_to = np.datetime64(pd.Timestamp(rec["last_trade_date"]), "ns")
        if pd.Timestamp(rec["last_label_date"]) > last_label or tuned_to > last_trade:
            continue  # it learnt from labels this fit may not see
        between = int(np.searchsorted(sessions, last_trade, "left")
                      - np.searchsorted(sessions, tuned_to, "left"))
        if between <= retune_sessions and (best is None or rec["last_trade_date"]
                                           > best["last_trade_date"]):
            best = rec
    return best


def _fit_pooled(data: pd.DataFrame, rows: np.ndarray, run: _Run, tag: str) -> tuple[dict, dict]:
    """The pooled fit on ``data``'s rows at ``rows``. Only the selection subsample is copied
    with every feature; the fit itself gets the selected features' columns of those rows (a
    fold of the pooled design with all 259 columns was ~2 GB at 5,000 traders)."""
    cfg = run.cfg
    y = data["large_loss"].to_numpy(np.int64)[rows]
    info: dict = {"n_train": len(rows), "positives": int(y.sum())}
    if len(rows) < cfg.min_pooled_rows or y.sum() < cfg.min_trader_positives:
        return {}, info
    dates = data[["trade_date", "label_date"]].iloc[rows]
    fit_idx, calib_idx = calibration_split(dates["trade_date"], dates["label_date"], cfg)
    sel = data.iloc[rows[subsample_rows(fit_idx, cfg.max_tuning_rows, cfg.seed)]]
    selected = select_features(sel[run.columns], sel["large_loss"].to_numpy(),
                               sel["next_net_pnl"].to_numpy(), cfg)
    train = _rows(data[[*KEY_COLUMNS, *selected, *TRAINING_LABELS]], rows)
    model, info["pooled_lgbm"] = fit_lgbm(
        train, fit_idx, calib_idx, selected, cfg, family="pooled_lgbm", owner=POOLED,
        study_name=f"{run.run_id}.pooled_lgbm.{POOLED}.{tag}", n_trials=cfg.pooled_n_trials,
        storage=run.storage, trader_categories=sorted(train["trader_id"].unique()),
        tuned=_reuse(run, "pooled_lgbm", dates.iloc[fit_idx]))
    return {"pooled_lgbm": model}, info


def _fit_trader(data: pd.DataFrame, rows: np.ndarray, run: _Run, tag: str) -> tuple[dict, dict]:
    cfg = run.cfg
    train = _rows(data, rows)
    y = train["large_loss"].to_numpy(np.int64)
    n, pos = len(train), int(y.sum())
    info: dict = {"n_train": n, "positives": pos}
    if n < cfg.min_baseline_rows or pos < cfg.min_baseline_positives:
        return {}, info
    fit_idx, calib_idx = calibration_split(train["trade_date"], train["label_date"], cfg)
    fit, calib = train.iloc[fit_idx], train.iloc[calib_idx]
    # the positives may all fall in the later calibration slice: then nothing is learnt from
    # the fit rows (a one-class fit made LogisticRegression raise and stop every trader's run)
    info["fit_positives"] = fit_pos = int(fit["large_loss"].sum())
    selected = select_features(fit[run.columns], fit["large_loss"].to_numpy(),
                               fit["next_net_pnl"].to_numpy(), cfg) if 0 < fit_pos < len(fit) else []
    info["selected"] = selected
    models: dict = {}
    if selected:
        models["logistic"] = fit_logistic(fit, calib, selected[: cfg.logistic_features], cfg,
                                          run.owner)
    if all(c in train.columns for c in RULE_FEATURES):
        models["rules"] = fit_rules(train, cfg, run.owner)
    if selected and n >= cfg.min_trader_rows and pos >= cfg.min_trader_positives:
        models["trader_lgbm"], info["trader_lgbm"] = fit_lgbm(
            train, fit_idx, calib_idx, selected, cfg, family="trader_lgbm", owner=run.owner,
            study_name=f"{run.run_id}.trader_lgbm.{run.owner}.{tag}", n_trials=cfg.n_trials,
            storage=run.storage, tuned=_reuse(run, "trader_lgbm", fit))
    return models, info


def _reuse(run: _Run, family: str, fit: pd.DataFrame) -> dict | None:
    return reusable_tuning(run.previous.get(family, []), fit, run.sessions,
                           run.cfg.retune_sessions)


def pooled_design(history: pd.DataFrame, columns: list[str], cfg: TrainingConfig,
                  rows: np.ndarray | None = None) -> pd.DataFrame:
    """The pooled model's design: the keys, then ``columns`` as z-scores against each trader's
    own past (``normalize_by_trader``, float64), one row per ``history`` row at ``rows``
    (positions; default every row), index 0..n-1."""
    design = normalize_by_trader(history, columns, cfg.norm_min_periods, rows=rows)
    design.index = pd.RangeIndex(len(design))
    for i, key in enumerate(KEY_COLUMNS):  # insert: no copy of the z-score block
        values = history[key].to_numpy()
        design.insert(i, key, values if rows is None else values[rows])
    return design


def pooled_training_frame(history: pd.DataFrame, labels: pd.DataFrame, columns: list[str],
                          cfg: TrainingConfig) -> pd.DataFrame:
    """``training_frame(pooled_design(history, ...), labels)`` without its copies: the design is
    computed only for the rows with a complete label and the labels are attached by position
    (one block of rows x columns; there were three)."""
    rows, lab = labelled_rows(history, labels)
    return attach_labels(pooled_design(history, columns, cfg, rows), lab)


def _predict_rows(model, history: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """Predictions for ``rows`` (keys), computed over the owner's full feature history so that
    trailing and expanding statistics are the ones serving would see."""
    pred = model.predict(history)
    pred[list(KEY_COLUMNS)] = history[list(KEY_COLUMNS)].to_numpy()
    pred["trade_date"] = pd.to_datetime(pred["trade_date"])
    return rows[list(KEY_COLUMNS)].merge(pred, on=list(KEY_COLUMNS), how="left")


def _rows(data: pd.DataFrame, positions) -> pd.DataFrame:
    """``data``'s rows at ``positions``, indexed 0..n-1: one copy (``reset_index`` would make a
    second)."""
    part = data.iloc[positions]
    part.index = pd.RangeIndex(len(part))
    return part


def _training_window(train: pd.DataFrame, cfg: TrainingConfig) -> dict:
    return {
        "first_trade_date": train["trade_date"].min().date().isoformat(),
        "last_trade_date": train["trade_date"].max().date().isoformat(),
        "last_label_date": train["label_date"].max().date().isoformat(),
        "cutoff": cfg.cutoff.isoformat() if cfg.cutoff else None,
    }


def train_candidates(
    features: pd.DataFrame, labels: pd.DataFrame, trader_id: str | None,
    cfg: TrainingConfig = TrainingConfig(), previous_tuning: dict[str, list[dict]] | None = None,
) -> CandidateResult:
    """Walk-forward out-of-sample predictions and final serving models.

    features: the trader_features frame (``trade_date, trader_id`` + numeric features; all
    traders for the pooled model, or at least ``trader_id``'s rows); labels: risk_labels.
    trader_id None -> the ``pooled_lgbm`` family over every trader; a trader id -> that trader's
    ``logistic``, ``rules`` and (with enough history) ``trader_lgbm``. Families that lack data
    in a fold are absent from that fold's predictions. Runs single-threaded (LightGBM
    ``num_threads=1``, BLAS limited to 1 thread): parallelise over traders instead.
    previous_tuning: LightGBM family -> tuning records of earlier fits (the ``tuning`` list of
    the owner's latest stored model), reused as ``cfg.retune_sessions`` allows; each final
    LightGBM model's meta lists its fits' records under ``tuning``.
    """
    with threadpool_limits(limits=1):
        return _train_candidates(features, labels, trader_id, cfg, previous_tuning or {})


def _train_candidates(
    features: pd.DataFrame, labels: pd.DataFrame, trader_id: str | None, cfg: TrainingConfig,
    previous_tuning: dict[str, list[dict]],
) -> CandidateResult:
    pooled = trader_id is None
    history = features if pooled else features[features["trader_id"] == trader_id]
    if not (is_sorted(history) and history.index.equals(pd.RangeIndex(len(history)))):
        history = history.sort_values(list(KEY_COLUMNS)).reset_index(drop=True)
    columns = feature_columns(history)
    data = (pooled_training_frame(history, labels, columns, cfg) if pooled
            else training_frame(history, labels))
    run = _Run(cfg, POOLED if pooled else trader_id, columns, fingerprint(data)[:12],
               make_storage(cfg.optuna_storage), previous_tuning,
               np.unique(data["trade_date"].to_numpy("datetime64[ns]")))
    fit_fn = _fit_pooled if pooled else _fit_trader

    preds, details = [], []
    for f in walk_forward_splits(data["trade_date"], data["label_date"], cfg):
        models, info = fit_fn(data, f.train_idx, run, f"fold{f.fold}")
        test = data[list(KEY_COLUMNS)].iloc[f.test_idx]
        for family, model in models.items():
            preds.append(_predict_rows(model, history, test).assign(model=family, fold=f.fold))
        details.append({"fold": f.fold, "test_start": str(f.test_start),
                        "test_end": str(f.test_end), **info})
    oos = (pd.concat(preds, ignore_index=True)[PRED_COLUMNS] if preds
           else pd.DataFrame(columns=PRED_COLUMNS))
    oos["trade_date"] = pd.to_datetime(oos["trade_date"]).dt.date
    cv = {}
    for family, part in oos.groupby("model"):
        truth = part[list(KEY_COLUMNS)].assign(trade_date=pd.to_datetime(part["trade_date"]))
        truth = truth.merge(data[list(KEY_COLUMNS) + ["large_loss", "next_net_pnl"]],
                            on=list(KEY_COLUMNS), how="left")
        cv[str(family)] = oos_metrics(part, truth)

    final = data if cfg.cutoff is None else _rows(
        data, np.flatnonzero(data["label_date"] <= pd.Timestamp(cfg.cutoff)))
    final_models, final_info = (fit_fn(final, np.arange(len(final)), run, "final") if len(final)
                                else ({}, {}))
    for family, model in final_models.items():
        model.meta = {
            "cv_metrics": cv.get(family, {}), "training_window": _training_window(final, cfg),
            "n_rows": len(final), "n_positives": int(final["large_loss"].sum()),
            "data_fingerprint": fingerprint(final), "config": cfg.as_json(),
            "features": list(model.features), "fit": final_info.get(family, {}),
            "normalized_by_trader": pooled,
        }
        if family in ("pooled_lgbm", "trader_lgbm"):  # every fit's study, tuned or reused
            model.meta["tuning"] = [d[family]["tuning"] for d in details if family in d] + \
                [final_info[family]["tuning"]]
    return CandidateResult(oos, final_models, cv, details)
