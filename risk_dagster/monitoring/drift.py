"""Drift of a champion's input features and predictions: reference window vs current windows.

Why these methods, at per-trader sample sizes (20-60 current rows vs ~250 reference rows):
- PSI/Wasserstein at their usual 0.1 threshold alarm on almost every small window with no drift
  (REFERENCE.md: PSI@0.1 on ~100% of 20-row windows), so we use the two-sample KS p-value, which
  accounts for the sample sizes.
- One KS test per feature (<= 30) times two windows would alarm on ~1 - 0.95^60 of checks at a
  raw 5% level; the p-values of one check are corrected together (Benjamini-Hochberg by default,
  Bonferroni optional) and the check alarms when the smallest corrected value is <= ``alpha``.
- KS assumes independent rows, but most features are rolling aggregates (21-day volatility,
  drawdown...) whose day-to-day autocorrelation is 0.9+: five consecutive rows are almost one
  observation and their raw KS p-value is tiny with no drift at all. Each (column, window) test is
  therefore calibrated on the reference itself (genomic control): pseudo-windows of the same
  length are cut from the reference and tested against the rest of it (minus a gap on each side),
  the inflation factor is ``median(-ln p) / ln 2`` (1 for independent rows, clipped to
  [min_inflation, max_inflation]), and a current p-value becomes ``p ** (1 / inflation)`` before
  the correction. A persistent column thus needs a much larger change to alarm; an i.i.d. column
  keeps its nominal KS p-value.
- Two current windows: KS power is bounded by the share of changed rows in the window, so a
  20-row window cannot see a change 5 sessions old (D <= 0.25); a 5-row window can, and the
  20-row window keeps power for smaller changes that persist.
- ``alpha`` = 0.002 (BH): at 0.01 a synthetic stationary firm with daily checks alarmed on 8% of
  trader-weeks (10 traders x 20 weeks); at 0.002 on 2.5% (40 traders x 50 weeks, 5 checks a
  week), while a 3-sd level shift of 3 of 30 features was still caught within 5 sessions for 97%
  of traders (2 sd on 3 features: 57%; 2 sd on 10 features: 88%; a x3 variance change on 3
  features: 3% -- KS on 5 rows is weak for variance changes).
Evidently computes the production p-values (and the optional HTML report); the calibration uses
the same test through SciPy (see ``ks.py``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from risk_dagster.monitoring.config import MonitoringConfig
from risk_dagster.monitoring.ks import (adjust_pvalues, ks_pvalue, ks_pvalues, numeric_matrix,
                                        testable_columns)

PREDICTION = "p_large_loss"
_LN2 = math.log(2.0)


@dataclass(frozen=True)
class Calibration:
    """Inflation factor (>= 1) per (column, window length), from reference pseudo-windows."""

    inflation: dict[tuple[str, int], float]
    n_pseudo: dict[int, int]

    def factor(self, column: str, window: int) -> float:
        return self.inflation.get((column, window), 1.0)


@dataclass
class DriftResult:
    """One check of one trader.

    table: one row per tested (column, window): p_value (raw KS, fraction), inflation,
        p_calibrated, q_value (corrected), drifted (q_value <= alpha).
    drifted_features: features (not the prediction) with a drifted test at any window;
    drift_share: their fraction of the tested features; prediction_pvalue: smallest calibrated
    KS p-value of ``p_large_loss`` (NaN if not tested); score: -log10 of the smallest q-value
    (0 = nothing, >= -log10(alpha) alarms); seconds: wall time of the KS computations.
    """

    trader_id: str
    drifted: bool
    reason: str
    score: float
    drift_share: float
    drifted_features: list[str]
    prediction_pvalue: float
    prediction_drifted: bool
    n_reference: int
    n_current: int
    table: pd.DataFrame = field(repr=False)
    engine: str = "evidently"
    seconds: float = 0.0
    html_path: str | None = None

    def summary(self) -> dict:
        """JSON-safe headline numbers (for run tags / metadata)."""
        return {"trader_id": self.trader_id, "drifted": self.drifted, "reason": self.reason,
                "score": round(self.score, 4), "drift_share": round(self.drift_share, 4),
                "drifted_features": self.drifted_features,
                "prediction_pvalue": None if math.isnan(self.prediction_pvalue)
                else round(self.prediction_pvalue, 6),
                "n_reference": self.n_reference, "n_current": self.n_current,
                "engine": self.engine, "seconds": round(self.seconds, 3)}


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("trade_date", kind="stable") if "trade_date" in frame else frame


def tested_columns(reference: pd.DataFrame, current: pd.DataFrame, features: list[str],
                   cfg: MonitoringConfig) -> list[str]:
    """The champion's features, plus ``p_large_loss`` when configured and present on both sides."""
    cols = list(dict.fromkeys(features))
    missing = [c for c in cols if c not in reference or c not in current]
    if missing:
        raise KeyError(f"features missing from the frames: {missing}")
    if cfg.test_predictions and PREDICTION in reference and PREDICTION in current:
        cols.append(PREDICTION)
    return cols


def calibrate(reference: pd.DataFrame, columns: list[str], cfg: MonitoringConfig) -> Calibration:
    """Inflation factor per (column, window) from pseudo-windows of the reference (see module doc).

    In: the reference rows (sorted by trade_date inside), the columns to test. Out: Calibration;
    a (column, window) with fewer than 5 usable pseudo-windows gets no entry (factor 1).
    """
    ref = numeric_matrix(_sorted(reference), columns)
    n = len(ref)
    inflation, n_pseudo = {}, {}
    for w in cfg.current_windows:
        pvals: dict[str, list[float]] = {c: [] for c in columns}
        n_pseudo[w] = 0
        for s in range(0, n - w + 1, cfg.calibration_step):
            keep = np.r_[0:max(s - cfg.calibration_gap, 0), min(s + w + cfg.calibration_gap, n):n]
            if len(keep) < cfg.min_reference_rows:
                continue
            n_pseudo[w] += 1
            for j, c in enumerate(columns):
                a, b = ref[keep, j], ref[s:s + w, j]
                a, b = a[np.isfinite(a)], b[np.isfinite(b)]
                if len(a) >= cfg.min_reference_rows and len(b) >= cfg.min_current_rows:
                    pvals[c].append(ks_pvalue(a, b))
        for c, ps in pvals.items():
            if len(ps) >= 5:
                lam = float(np.median(-np.log(np.clip(ps, 1e-300, 1.0)))) / _LN2
                inflation[(c, w)] = float(np.clip(lam, cfg.min_inflation, cfg.max_inflation))
    return Calibration(inflation=inflation, n_pseudo=n_pseudo)


def _window_tests(reference: pd.DataFrame, current: pd.DataFrame, columns: list[str],
                  cfg: MonitoringConfig, engine: str, html_path) -> pd.DataFrame:
    """Raw KS p-values for every (column, window) the current rows allow."""
    rows = []
    windows = sorted(w for w in cfg.current_windows if len(current) >= w)
    for w in windows:
        cur = current.tail(w)
        cols = testable_columns(reference, cur, columns, cfg.min_reference_rows, cfg.min_current_rows)
        # The HTML report, when asked for, is the one of the longest window.
        path = html_path if (html_path is not None and w == windows[-1]) else None
        for c, p in ks_pvalues(reference, cur, cols, engine=engine, html_path=path).items():
            rows.append({"column": c, "window": w, "p_value": p})
    return pd.DataFrame(rows, columns=["column", "window", "p_value"])


def _reason(table: pd.DataFrame, drifted: bool, alpha: float) -> str:
    if table.empty:
        return "not tested: too few current rows"
    best = table.sort_values("q_value").drop_duplicates("column")
    if not drifted:
        return f"no drift (smallest q={best['q_value'].iloc[0]:.3g} > alpha={alpha})"
    hits = best[best["drifted"]]
    parts = [f"{r.column} ({r.window}d, q={r.q_value:.2g})" for r in hits.head(5).itertuples()]
    more = f" +{len(hits) - 5} more" if len(hits) > 5 else ""
    return "drift: " + ", ".join(parts) + more


def drift_scores(reference: pd.DataFrame, current: pd.DataFrame, features: list[str],
                 cfg: MonitoringConfig | None = None, *, calibration: Calibration | None = None,
                 engine: str = "evidently", html_path: str | Path | None = None) -> DriftResult:
    """Drift of one trader's champion inputs and predictions, current vs reference.

    reference: the champion's reference rows (``trade_date, trader_id``, the features and, if
    available, ``p_large_loss``); current: the trader's rows after the reference up to the check
    date (the last ``w`` rows are tested for each ``w`` in ``cfg.current_windows``); features: the
    champion's feature names. ``calibration``: from ``calibrate`` (computed here when None; pass
    it to reuse across checks). ``engine``: ``evidently`` (production) or ``scipy`` (same test,
    fast). ``html_path``: also save the Evidently HTML report of the longest window (~5 MB).
    """
    cfg = cfg or MonitoringConfig()
    reference, current = _sorted(reference), _sorted(current)
    columns = tested_columns(reference, current, features, cfg)
    if calibration is None:
        calibration = calibrate(reference, columns, cfg)
    t0 = time.perf_counter()
    table = _window_tests(reference, current, columns, cfg, engine,
                          html_path if engine == "evidently" else None)
    seconds = time.perf_counter() - t0
    table["inflation"] = [calibration.factor(c, w) for c, w in zip(table["column"], table["window"])]
    table["p_calibrated"] = table["p_value"] ** (1.0 / table["inflation"])
    table["q_value"] = adjust_pvalues(table["p_calibrated"].to_numpy(), cfg.correction)
    table["drifted"] = table["q_value"] <= cfg.alpha
    min_q = float(table["q_value"].min()) if len(table) else math.nan
    drifted = bool(len(table) and min_q <= cfg.alpha)
    feats = table[table["column"] != PREDICTION]
    drifted_features = sorted(feats.loc[feats["drifted"], "column"].unique().tolist())
    n_feats = feats["column"].nunique()
    pred = table[table["column"] == PREDICTION]
    trader = str(current["trader_id"].iloc[0]) if "trader_id" in current and len(current) else ""
    return DriftResult(
        trader_id=trader, drifted=drifted, reason=_reason(table, drifted, cfg.alpha),
        score=0.0 if math.isnan(min_q) else float(-np.log10(max(min_q, 1e-300))),
        drift_share=len(drifted_features) / n_feats if n_feats else 0.0,
        drifted_features=drifted_features,
        prediction_pvalue=float(pred["p_calibrated"].min()) if len(pred) else math.nan,
        prediction_drifted=bool(pred["drifted"].any()) if len(pred) else False,
        n_reference=len(reference), n_current=len(current), table=table, engine=engine,
        seconds=seconds, html_path=str(html_path) if html_path and engine == "evidently" else None,
    )
