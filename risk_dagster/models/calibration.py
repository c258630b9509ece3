"""Platt calibration of a classifier score: p = sigmoid(a * score + b).

Fitted on a time slice later than the data the classifier was fitted on (never on a test fold).
Only two numbers, so they go into the model's JSON metadata.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression


@dataclass(frozen=True)
class Platt:
    """Calibration coefficients: slope ``a`` (>= 0) and intercept ``b`` on the logit scale."""

    a: float = 1.0
    b: float = 0.0
    fitted: bool = False

    def logit(self, score: np.ndarray) -> np.ndarray:
        return self.a * np.asarray(score, dtype=np.float64) + self.b

    def proba(self, score: np.ndarray) -> np.ndarray:
        """Calibrated probability of a large loss (fraction)."""
        return 1.0 / (1.0 + np.exp(-self.logit(score)))

    def as_json(self) -> dict:
        return {"method": "sigmoid", "a": self.a, "b": self.b, "fitted": self.fitted}

    @classmethod
    def from_json(cls, data: dict) -> "Platt":
        return cls(float(data["a"]), float(data["b"]), bool(data["fitted"]))


def fit_platt(score: np.ndarray, y: np.ndarray, min_positives: int) -> Platt:
    """Fit ``a, b`` by logistic regression of ``y`` on ``score`` (e.g. raw log-odds).

    Returns the identity (a=1, b=0, fitted=False) when the slice has fewer than
    ``min_positives`` positives or negatives. A negative slope is floored at 0: a small late
    slice must not invert the ranking learned on the larger fit part (the model then predicts
    the slice's base rate).
    """
    y = np.asarray(y, dtype=np.int64)
    n1 = int(y.sum())
    if n1 < min_positives or len(y) - n1 < min_positives:
        return Platt()
    x = np.asarray(score, dtype=np.float64).reshape(-1, 1)
    lr = LogisticRegression(C=1e4, max_iter=1000).fit(x, y)
    a = float(lr.coef_[0, 0])
    if a < 0.0:
        rate = np.clip(y.mean(), 1e-6, 1 - 1e-6)
        return Platt(0.0, float(np.log(rate / (1 - rate))), True)
    return Platt(a, float(lr.intercept_[0]), True)
