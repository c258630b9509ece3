"""LightGBM candidates (``pooled_lgbm``, ``trader_lgbm``): three boosters and a calibration.

A candidate holds a large-loss classifier (probability after Platt calibration), a next-day P&L
regressor (USD) and a 5% quantile booster (VaR, USD). The pooled model sees every trader: its
inputs are each trader's features as z-scores against the trader's own history strictly before
D, plus the trader id as a categorical (unseen traders map to missing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from risk_dagster.models.calibration import Platt, fit_platt
from risk_dagster.models.config import TrainingConfig
from risk_dagster.models.frames import normalize_by_trader
from risk_dagster.models.splits import walk_forward_splits
from risk_dagster.models.tuning import (
    lgb_params, rounds_by_early_stopping, train_booster, tune_classifier,
)

TRADER_CODE = "trader_code"
BOOSTER_FILES = {"classifier": "classifier.txt", "regressor": "regressor.txt", "var05": "var05.txt"}


def trader_codes(trader_ids: pd.Series, categories: list[str]) -> np.ndarray:
    """Integer code of each trader in ``categories``; -1 (missing for LightGBM) if unseen."""
    lookup = {t: i for i, t in enumerate(categories)}
    return trader_ids.map(lookup).fillna(-1).to_numpy(np.float64)


@dataclass
class LgbmRiskModel:
    """A fitted LightGBM candidate; ``features`` are raw feature names (before normalisation)."""

    family: str
    owner: str
    features: list[str]
    boosters: dict[str, lgb.Booster]
    calibration: Platt
    trader_categories: list[str] | None = None
    norm_min_periods: int = 5
    meta: dict = field(default_factory=dict)

    @property
    def pooled(self) -> bool:
        return self.trader_categories is not None

    @property
    def input_columns(self) -> list[str]:
        """The feature columns its predictions read (the pooled model also reads the keys)."""
        return list(self.features)

    @property
    def input_names(self) -> list[str]:
        return self.features + ([TRADER_CODE] if self.pooled else [])

    def design(self, frame: pd.DataFrame) -> np.ndarray:
        """Model inputs for ``frame``. Pooled: pass each trader's full feature history (the
        normalisation is expanding over the rows given)."""
        if not self.pooled:
            return frame[self.features].to_numpy(np.float64)
        z = normalize_by_trader(frame, self.features, self.norm_min_periods)
        codes = trader_codes(frame["trader_id"], self.trader_categories)
        return np.column_stack([z.to_numpy(np.float64), codes])

    def predict_design(self, X: np.ndarray, index: pd.Index) -> pd.DataFrame:
        raw = self.boosters["classifier"].predict(X, raw_score=True)
        return pd.DataFrame({
            "p_large_loss": self.calibration.proba(raw),
            "pred_pnl": self.boosters["regressor"].predict(X),
            "var_05": self.boosters["var05"].predict(X),
        }, index=index)

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per row of ``frame``: p_large_loss (calibrated probability), pred_pnl, var_05 (USD)."""
        return self.predict_design(self.design(frame), frame.index)

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per-feature contributions to the calibrated log-odds (TreeSHAP, ``pred_contrib``),
        columns ``input_names`` + ``bias``; each row sums to logit(p_large_loss)."""
        return self.contributions_design(self.design(frame), frame.index)

    def contributions_design(self, X: np.ndarray, index: pd.Index) -> pd.DataFrame:
        contrib = self.boosters["classifier"].predict(X, pred_contrib=True)
        out = pd.DataFrame(contrib * self.calibration.a, columns=self.input_names + ["bias"],
                           index=index)
        out["bias"] += self.calibration.b
        return out

    def predict_probability(self, frame: pd.DataFrame, mask: np.ndarray) -> np.ndarray:
        """Calibrated ``p_large_loss`` of the rows of ``frame`` selected by ``mask`` (the
        classifier only; inputs built from the whole ``frame``, as in :meth:`predict_rows`)."""
        return self.probability_of_design(self.design(frame)[mask])

    def probability_of_design(self, X: np.ndarray) -> np.ndarray:
        """Calibrated ``p_large_loss`` of design rows ``X`` (from :meth:`design`)."""
        return self.calibration.proba(self.boosters["classifier"].predict(X, raw_score=True))

    def predict_rows(self, frame: pd.DataFrame, mask: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Predictions and contributions of the rows of ``frame`` selected by ``mask`` only. The
        inputs are built from the whole ``frame`` (the pooled normalisation needs the history),
        but the trees run on the selected rows: scoring one date costs one row per trader."""
        X, index = self.design(frame)[mask], frame.index[mask]
        return self.predict_design(X, index), self.contributions_design(X, index)

    def to_files(self, directory: Path) -> dict:
        """Write the boosters as LightGBM text files; returns the JSON section of the metadata."""
        for kind, name in BOOSTER_FILES.items():
            self.boosters[kind].save_model(str(directory / name))
        return {
            "features": self.features, "calibration": self.calibration.as_json(),
            "trader_categories": self.trader_categories, "norm_min_periods": self.norm_min_periods,
        }

    @classmethod
    def from_files(cls, directory: Path, meta: dict) -> "LgbmRiskModel":
        m = meta["model"]
        boosters = {k: lgb.Booster(model_file=str(directory / n)) for k, n in BOOSTER_FILES.items()}
        return cls(meta["family"], meta["owner"], list(m["features"]), boosters,
                   Platt.from_json(m["calibration"]), m["trader_categories"],
                   int(m["norm_min_periods"]), meta)


def subsample_rows(idx: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """At most ``limit`` of the row indices ``idx``, drawn with ``seed``, in original order."""
    if len(idx) <= limit:
        return idx
    return np.sort(np.random.default_rng(seed).choice(idx, size=limit, replace=False))


def fit_lgbm(
    design: pd.DataFrame, fit_idx: np.ndarray, calib_idx: np.ndarray, features: list[str],
    cfg: TrainingConfig, *, family: str, owner: str, study_name: str, n_trials: int,
    storage=None, trader_categories: list[str] | None = None, tuned: dict | None = None,
) -> tuple[LgbmRiskModel, dict]:
    """Tune on the fit part, fit the three boosters on it, calibrate on the calibration slice.

    design: training rows with ``features`` (already normalised for the pooled model, plus
    ``trader_id``), ``trade_date``, ``label_date``, ``large_loss``, ``next_net_pnl`` (USD).
    fit_idx / calib_idx: positional rows (from ``calibration_split``). tuned: a stored tuning
    record (``info["tuning"]`` of an earlier fit, chosen by ``training.reusable_tuning``) whose
    structure and rounds are used instead of a new study. Returns (model, info); info["tuning"]
    is this fit's record: the study's structure and rounds, the last trade and label date of
    the rows it was tuned on, and whether it was reused.
    """
    cat = [len(features)] if trader_categories is not None else []
    X = design[features].to_numpy(np.float64)
    if trader_categories is not None:
        X = np.column_stack([X, trader_codes(design["trader_id"], trader_categories)])
    y = design["large_loss"].to_numpy(np.int64)
    pnl = design["next_net_pnl"].to_numpy(np.float64)
    if tuned is not None:
        structure, rounds_by_kind = dict(tuned["structure"]), dict(tuned["rounds"])
        record, trial_states = {**tuned, "reused": True}, {}
        best_logloss = tuned.get("best_logloss")
    else:
        structure, rounds_by_kind, study = _tune(design, X, y, pnl, fit_idx, cat, cfg,
                                                 family=family, owner=owner,
                                                 study_name=study_name, n_trials=n_trials,
                                                 storage=storage)
        states = [t.state.name for t in study.trials]
        trial_states = {s: states.count(s) for s in sorted(set(states))}
        best_logloss = float(study.best_value)
        fit_rows = design[["trade_date", "label_date"]].iloc[fit_idx]
        record = {"study": study_name, "structure": structure, "rounds": rounds_by_kind,
                  "best_logloss": best_logloss, "reused": False,
                  "last_trade_date": str(pd.Timestamp(fit_rows["trade_date"].max()).date()),
                  "last_label_date": str(pd.Timestamp(fit_rows["label_date"].max()).date())}
    targets = {"classifier": y, "regressor": pnl, "var05": pnl}
    boosters = {
        k: train_booster(lgb_params(k, structure, cfg.seed), X[fit_idx], targets[k][fit_idx],
                         rounds_by_kind[k], cat)
        for k in BOOSTER_FILES
    }
    platt = fit_platt(boosters["classifier"].predict(X[calib_idx], raw_score=True), y[calib_idx],
                      cfg.min_calib_positives)
    model = LgbmRiskModel(family, owner, list(features), boosters, platt, trader_categories,
                          cfg.norm_min_periods)
    info = {
        "features": list(features), "structure": structure, "rounds": rounds_by_kind,
        "best_logloss": best_logloss, "study": record["study"], "trials": trial_states,
        "params": {k: lgb_params(k, structure, cfg.seed) for k in BOOSTER_FILES},
        "tuning": record,
    }
    return model, info


def _tune(design: pd.DataFrame, X: np.ndarray, y: np.ndarray, pnl: np.ndarray,
          fit_idx: np.ndarray, cat: list[int], cfg: TrainingConfig, *, family: str, owner: str,
          study_name: str, n_trials: int, storage) -> tuple[dict, dict, object]:
    """The Optuna study on (a subsample of) the fit rows: (structure, rounds by booster, study)."""
    tune_idx = subsample_rows(fit_idx, cfg.max_tuning_rows, cfg.seed)
    sub = design.iloc[tune_idx]
    inner = walk_forward_splits(sub["trade_date"], sub["label_date"], cfg, n_folds=cfg.inner_folds,
                                min_train_sessions=sub["trade_date"].nunique() // 2)
    if not inner:
        raise ValueError(f"{family}/{owner}: too few sessions for inner folds")
    structure, rounds, study = tune_classifier(X[tune_idx], y[tune_idx], inner, cat, cfg,
                                               study_name=study_name, n_trials=n_trials,
                                               storage=storage)
    r_reg = rounds_by_early_stopping("regressor", structure, X[tune_idx], pnl[tune_idx],
                                     inner[-1], cat, cfg)
    r_var = rounds_by_early_stopping("var05", structure, X[tune_idx], pnl[tune_idx],
                                     inner[-1], cat, cfg)
    return structure, {"classifier": rounds, "regressor": r_reg, "var05": r_var}, study
