"""Baselines: a standardised logistic regression on a few features, and a risk desk's rules.

Both store plain coefficients (JSON) and explain a score by its per-feature terms.

Rules score (points, each rule scores 0, 1 or 2; a missing input scores 0):
- ``loss_streak`` >= 2 days: 1 point, >= 3: 2 points;
- ``drawdown_21d`` >= 1.5 x ``pnl_vol_21d``: 1, >= 3 x: 2;
- a loss today ``-net_pnl_d0`` >= 1 x ``pnl_vol_21d``: 1, >= 2 x: 2;
- ``large_losses_5d`` >= 1: 1, >= 2: 2.
The score is mapped to a probability by Platt calibration on the training rows; pred_pnl is the
trader's trailing mean net P&L over the last ``rules_window`` traded days, var_05 its trailing 5%
quantile (fallbacks: training mean; mean - 1.645 x pnl_vol_21d; training 5% quantile).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression, Ridge

from risk_dagster.models.calibration import Platt, fit_platt
from risk_dagster.models.config import RULE_FEATURES, TrainingConfig

RULE_THRESHOLDS = {"loss_streak": [2.0, 3.0], "drawdown_21d": [1.5, 3.0],
                   "net_pnl_d0": [1.0, 2.0], "large_losses_5d": [1.0, 2.0]}
Z_05 = 1.6448536269514722  # standard normal 95% quantile


def _frame_json(values: pd.Series) -> dict:
    return {k: float(v) for k, v in values.items()}


@dataclass
class LogisticRiskModel:
    """Logistic large-loss classifier, ridge P&L regressor and a residual-quantile VaR."""

    owner: str
    features: list[str]
    center: pd.Series            # medians used for imputation, then means for standardising
    mean: pd.Series
    scale: pd.Series
    coef: pd.Series              # log-odds per standard deviation
    intercept: float
    pnl_coef: pd.Series          # USD per standard deviation
    pnl_intercept: float         # USD
    resid_q05: float             # USD, 5% quantile of training residuals
    calibration: Platt
    meta: dict = field(default_factory=dict)
    family: str = "logistic"

    def _z(self, frame: pd.DataFrame) -> pd.DataFrame:
        x = frame[self.features].astype("float64").fillna(self.center)
        return (x - self.mean) / self.scale

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per row: p_large_loss (calibrated), pred_pnl and var_05 (USD)."""
        z = self._z(frame)
        raw = z.to_numpy() @ self.coef.to_numpy() + self.intercept
        pred = z.to_numpy() @ self.pnl_coef.to_numpy() + self.pnl_intercept
        return pd.DataFrame({"p_large_loss": self.calibration.proba(raw), "pred_pnl": pred,
                             "var_05": pred + self.resid_q05}, index=frame.index)

    @property
    def input_columns(self) -> list[str]:
        """The feature columns its predictions read."""
        return list(self.features)

    def predict_probability(self, frame: pd.DataFrame, mask: np.ndarray) -> np.ndarray:
        """``p_large_loss`` of the rows of ``frame`` selected by ``mask`` (each row's own
        inputs: what ``predict`` gives those rows)."""
        z = self._z(frame[mask])
        return self.calibration.proba(z.to_numpy() @ self.coef.to_numpy() + self.intercept)

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per-feature terms of the calibrated log-odds; + ``bias``, rows sum to logit(p)."""
        out = self._z(frame) * self.coef * self.calibration.a
        out["bias"] = self.calibration.a * self.intercept + self.calibration.b
        return out

    def to_files(self, directory: Path) -> dict:
        return {
            "features": self.features, "center": _frame_json(self.center),
            "mean": _frame_json(self.mean), "scale": _frame_json(self.scale),
            "coef": _frame_json(self.coef), "intercept": self.intercept,
            "pnl_coef": _frame_json(self.pnl_coef), "pnl_intercept": self.pnl_intercept,
            "resid_q05": self.resid_q05, "calibration": self.calibration.as_json(),
        }

    @classmethod
    def from_files(cls, directory: Path, meta: dict) -> "LogisticRiskModel":
        m = meta["model"]
        feats = list(m["features"])
        s = {k: pd.Series(m[k], dtype="float64").reindex(feats)
             for k in ("center", "mean", "scale", "coef", "pnl_coef")}
        return cls(meta["owner"], feats, s["center"], s["mean"], s["scale"], s["coef"],
                   float(m["intercept"]), s["pnl_coef"], float(m["pnl_intercept"]),
                   float(m["resid_q05"]), Platt.from_json(m["calibration"]), meta)


def fit_logistic(fit: pd.DataFrame, calib: pd.DataFrame, features: list[str], cfg: TrainingConfig,
                 owner: str) -> LogisticRiskModel:
    """Fit on ``fit`` rows (standardised ``features``), calibrate on the later ``calib`` rows."""
    x = fit[features].astype("float64")
    center = x.median().fillna(0.0)
    x = x.fillna(center)
    mean, scale = x.mean(), x.std(ddof=0).where(lambda s: s > 1e-12, 1.0)
    z = ((x - mean) / scale).to_numpy()
    y = fit["large_loss"].to_numpy(np.int64)
    pnl = fit["next_net_pnl"].to_numpy(np.float64)
    clf = LogisticRegression(C=1.0, max_iter=1000).fit(z, y)
    reg = Ridge(alpha=1.0).fit(z, pnl)
    model = LogisticRiskModel(
        owner, list(features), center, mean, scale, pd.Series(clf.coef_[0], index=features),
        float(clf.intercept_[0]), pd.Series(reg.coef_, index=features), float(reg.intercept_),
        float(np.quantile(pnl - reg.predict(z), 0.05)), Platt())
    zc = model._z(calib).to_numpy()
    model.calibration = fit_platt(zc @ model.coef.to_numpy() + model.intercept,
                                  calib["large_loss"].to_numpy(np.int64), cfg.min_calib_positives)
    return model


def _rule_points(frame: pd.DataFrame, thresholds: dict[str, list[float]]) -> dict[str, np.ndarray]:
    def col(name: str) -> np.ndarray:
        return frame[name].to_numpy(dtype="float64", na_value=np.nan)

    vol = col("pnl_vol_21d")
    with np.errstate(invalid="ignore"):
        vol = np.where(vol > 0, vol, np.nan)
        value = {"loss_streak": col("loss_streak"), "drawdown_21d": col("drawdown_21d") / vol,
                 "net_pnl_d0": -col("net_pnl_d0") / vol, "large_losses_5d": col("large_losses_5d")}
        return {k: sum((value[k] >= t).astype("float64") for t in thresholds[k])
                for k in thresholds}


def rule_points(frame: pd.DataFrame, thresholds: dict[str, list[float]]) -> pd.DataFrame:
    """Points per rule (columns named after the feature each rule reads), NaN inputs score 0."""
    return pd.DataFrame(_rule_points(frame, thresholds), index=frame.index)


def rule_score(frame: pd.DataFrame, thresholds: dict[str, list[float]]) -> np.ndarray:
    """The points of every rule summed per row (``rule_points(...).sum(axis=1)``)."""
    points = list(_rule_points(frame, thresholds).values())
    return np.sum(points, axis=0) if points else np.zeros(len(frame))


def trailing_pnl_stats(frame: pd.DataFrame, window: int, min_periods: int) -> pd.DataFrame:
    """Per row: trailing mean and 5% quantile (USD) of the trader's traded-day net_pnl_d0 up to
    and including D, over the last ``window`` traded days; non-traded days carry the last value."""
    f = frame[["trader_id", "trade_date", "net_pnl_d0"]].sort_values(["trader_id", "trade_date"])
    traded = f.dropna(subset=["net_pnl_d0"])
    roll = traded.groupby("trader_id")["net_pnl_d0"].rolling(window, min_periods=min_periods)
    stats = pd.DataFrame({"mean": roll.mean().droplevel(0),
                          "q05": roll.quantile(0.05).droplevel(0)})
    stats = stats.reindex(f.index).groupby(f["trader_id"]).ffill()
    return stats.reindex(frame.index)


@dataclass
class RulesRiskModel:
    """The rules baseline (see module docstring)."""

    owner: str
    thresholds: dict[str, list[float]]
    calibration: Platt
    window: int
    min_periods: int
    fallback_mean: float         # USD, training mean of next-day net P&L
    fallback_q05: float          # USD, training 5% quantile of next-day net P&L
    meta: dict = field(default_factory=dict)
    family: str = "rules"

    @property
    def features(self) -> list[str]:
        return list(self.thresholds)

    @property
    def input_columns(self) -> list[str]:
        """The feature columns its predictions read."""
        return list(RULE_FEATURES)

    def predict_probability(self, frame: pd.DataFrame, mask: np.ndarray) -> np.ndarray:
        """``p_large_loss`` of the rows of ``frame`` selected by ``mask`` (the rules score of
        each row; no trailing P&L statistics)."""
        return self.calibration.proba(rule_score(frame[mask], self.thresholds))

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per row: p_large_loss, pred_pnl, var_05 (USD). Pass the trader's feature history:
        the P&L statistics trail over the rows given."""
        score = rule_score(frame, self.thresholds)
        stats = trailing_pnl_stats(frame, self.window, self.min_periods)
        pred = stats["mean"].fillna(self.fallback_mean)
        normal = pred - Z_05 * frame["pnl_vol_21d"].astype("float64")
        var = stats["q05"].fillna(normal).fillna(self.fallback_q05)
        return pd.DataFrame({"p_large_loss": self.calibration.proba(score),
                             "pred_pnl": pred.to_numpy(), "var_05": var.to_numpy()},
                            index=frame.index)

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Points x calibration slope per rule, + ``bias``; rows sum to logit(p_large_loss)."""
        out = rule_points(frame, self.thresholds) * self.calibration.a
        out["bias"] = self.calibration.b
        return out

    def to_files(self, directory: Path) -> dict:
        return {"thresholds": self.thresholds, "calibration": self.calibration.as_json(),
                "window": self.window, "min_periods": self.min_periods,
                "fallback_mean": self.fallback_mean, "fallback_q05": self.fallback_q05}

    @classmethod
    def from_files(cls, directory: Path, meta: dict) -> "RulesRiskModel":
        m = meta["model"]
        return cls(meta["owner"], {k: [float(t) for t in v] for k, v in m["thresholds"].items()},
                   Platt.from_json(m["calibration"]), int(m["window"]), int(m["min_periods"]),
                   float(m["fallback_mean"]), float(m["fallback_q05"]), meta)


def fit_rules(train: pd.DataFrame, cfg: TrainingConfig, owner: str) -> RulesRiskModel:
    """Calibrate the points score on the training rows (the score itself is fixed)."""
    score = rule_score(train, RULE_THRESHOLDS)
    pnl = train["next_net_pnl"].to_numpy(np.float64)
    platt = fit_platt(score, train["large_loss"].to_numpy(np.int64), cfg.min_calib_positives)
    return RulesRiskModel(owner, {k: list(v) for k, v in RULE_THRESHOLDS.items()}, platt,
                          cfg.rules_window, cfg.rules_min_periods, float(pnl.mean()),
                          float(np.quantile(pnl, 0.05)))
