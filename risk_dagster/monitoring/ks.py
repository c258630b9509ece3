"""Two-sample Kolmogorov-Smirnov p-values per column, through Evidently or directly through SciPy.

Evidently 0.7's ``ks`` stattest is ``scipy.stats.ks_2samp(reference, current)[1]`` on the
non-missing values, so both engines give the same p-values (a test checks it). Evidently is the
production engine (it also renders the HTML report); SciPy is used where hundreds of windows are
tested (reference calibration, benches), because each Evidently report spends ~1-2 s rendering
Plotly widgets that we do not read.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

os.environ.setdefault("DO_NOT_TRACK", "1")  # Evidently telemetry, before it is imported

ENGINES = ("evidently", "scipy")


def numeric_matrix(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Float matrix of ``columns`` (missing -> NaN; inf stays and is dropped as non-finite)."""
    return frame[columns].to_numpy(dtype=float, na_value=np.nan)


def testable_columns(reference: pd.DataFrame, current: pd.DataFrame, columns: list[str],
                     min_reference: int, min_current: int) -> list[str]:
    """Columns with enough finite values on both sides to be tested."""
    n_ref = np.isfinite(numeric_matrix(reference, columns)).sum(axis=0)
    n_cur = np.isfinite(numeric_matrix(current, columns)).sum(axis=0)
    return [c for c, r, k in zip(columns, n_ref, n_cur) if r >= min_reference and k >= min_current]


_P_CACHE: dict[tuple[int, int, int], float] = {}


def ks_pvalue(reference: np.ndarray, current: np.ndarray) -> float:
    """Two-sided KS p-value of two finite samples, equal to ``ks_2samp(reference, current)[1]``.

    ks_2samp's p-value depends only on (n1, n2, D), and D is a multiple of 1 / (n1 * n2), so the
    statistic is computed here with numpy and the p-value is cached on those integers (the
    scipy call costs ~1 ms, mostly argument handling).
    """
    a, b = np.sort(reference), np.sort(current)
    n1, n2 = len(a), len(b)
    both = np.concatenate([a, b])
    d = np.max(np.abs(np.searchsorted(a, both, "right") / n1 - np.searchsorted(b, both, "right") / n2))
    key = (n1, n2, int(round(d * n1 * n2)))
    if key not in _P_CACHE:
        _P_CACHE[key] = float(ks_2samp(a, b)[1])
    return _P_CACHE[key]


def pseudo_window_pvalues(column: np.ndarray, starts: np.ndarray, window: int, gap: int,
                          min_rest: int, min_window: int) -> list[float]:
    """KS p-values of the pseudo-windows ``column[s:s + window]`` against the rest of
    ``column`` minus ``gap`` rows on each side, for each start ``s`` of ``starts`` whose two
    samples have at least ``min_rest`` / ``min_window`` finite values (the others are left out),
    in the order of ``starts``: ``ks_pvalue`` of each pair, computed for every start at once.

    One sort of the column instead of one per pseudo-window: the empirical CDFs of both samples
    are cumulative counts over the column's sorted finite values, read at the end of each run
    of equal values (the counts of values <= x, as ``searchsorted(..., "right")`` gives).
    """
    column = np.asarray(column, dtype=float)
    starts = np.asarray(starts, dtype=np.int64)
    n = len(column)
    if len(starts) == 0:
        return []
    finite = np.isfinite(column)
    rows = np.arange(n)[finite]
    order = np.argsort(column[finite], kind="stable")
    values, rows = column[finite][order], rows[order]
    in_window = (rows >= starts[:, None]) & (rows < starts[:, None] + window)
    lo, hi = np.maximum(starts - gap, 0), np.minimum(starts + window + gap, n)
    in_rest = (rows < lo[:, None]) | (rows >= hi[:, None])
    n_rest, n_window = in_rest.sum(axis=1), in_window.sum(axis=1)
    ok = (n_rest >= min_rest) & (n_window >= min_window)
    ends = np.r_[values[1:] != values[:-1], True]
    rest_cdf = np.cumsum(in_rest[ok], axis=1)[:, ends]
    window_cdf = np.cumsum(in_window[ok], axis=1)[:, ends]
    n1, n2 = n_rest[ok], n_window[ok]
    d = np.max(np.abs(rest_cdf / n1[:, None] - window_cdf / n2[:, None]), axis=1)
    out = []
    for s, a_n, b_n, dist in zip(starts[ok].tolist(), n1.tolist(), n2.tolist(), d.tolist(),
                                 strict=True):
        key = (a_n, b_n, int(round(dist * a_n * b_n)))
        if key not in _P_CACHE:
            keep = np.r_[0:max(s - gap, 0), min(s + window + gap, n):n]
            a, b = column[keep], column[s:s + window]
            _P_CACHE[key] = float(ks_2samp(a[np.isfinite(a)], b[np.isfinite(b)])[1])
        out.append(_P_CACHE[key])
    return out


def ks_pvalues_scipy(reference: pd.DataFrame, current: pd.DataFrame, columns: list[str]) -> dict:
    """KS p-value (fraction) per column, from the finite values of each side."""
    ref, cur = numeric_matrix(reference, columns), numeric_matrix(current, columns)
    out = {}
    for j, c in enumerate(columns):
        a, b = ref[:, j], cur[:, j]
        out[c] = ks_pvalue(a[np.isfinite(a)], b[np.isfinite(b)])
    return out


def _evidently_frame(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    # Only the tested columns plus the keys, as float with inf -> NaN (Evidently drops NaN).
    out = frame[columns].apply(pd.to_numeric, errors="coerce").astype(float)
    out = out.replace([np.inf, -np.inf], np.nan)
    out["trader_id"] = frame["trader_id"].astype(str).to_numpy() if "trader_id" in frame else "?"
    out["trade_date"] = (pd.to_datetime(frame["trade_date"]).to_numpy() if "trade_date" in frame
                         else pd.NaT)
    return out.reset_index(drop=True)


def parse_drift_report(report: dict, columns: list[str]) -> dict:
    """Per-column KS p-values from ``json.loads(snapshot.json())`` of a DataDriftPreset report.

    Checks the structure we rely on: metric 0 is ``DriftedColumnsCount`` and there is exactly one
    ``ValueDrift`` with method ``ks`` per tested column. Raises ValueError otherwise.
    """
    metrics = report["metrics"]
    if not metrics or "DriftedColumnsCount" not in metrics[0].get("metric_name", ""):
        raise ValueError("Evidently report: metric 0 is not DriftedColumnsCount")
    out = {}
    for m in metrics[1:]:
        cfg = m.get("config", {})
        if cfg.get("type", "").endswith("ValueDrift"):
            if cfg.get("method") != "ks":
                raise ValueError(f"Evidently report: {cfg.get('column')} tested with {cfg.get('method')}")
            out[cfg["column"]] = float(m["value"])
    if set(out) != set(columns):
        raise ValueError(f"Evidently report: columns {sorted(set(out) ^ set(columns))} mismatched")
    return out


def ks_pvalues_evidently(reference: pd.DataFrame, current: pd.DataFrame, columns: list[str],
                         html_path: str | Path | None = None) -> dict:
    """KS p-value (fraction) per column from an Evidently ``DataDriftPreset`` report.

    ``trader_id`` / ``trade_date`` are declared as id and timestamp so they are not tested; every
    other column is dropped before the report. ``html_path``: also save the report (~5 MB).
    """
    from evidently import DataDefinition, Dataset, Report  # heavy import (~3 s), only when used
    from evidently.presets import DataDriftPreset

    if not columns:
        return {}
    definition = DataDefinition(numerical_columns=list(columns), id_column="trader_id",
                                timestamp="trade_date")
    cur = Dataset.from_pandas(_evidently_frame(current, columns), data_definition=definition)
    ref = Dataset.from_pandas(_evidently_frame(reference, columns), data_definition=definition)
    # drift_share only feeds Evidently's own summary; our decision is made on corrected p-values.
    report = Report([DataDriftPreset(columns=list(columns), num_method="ks", drift_share=0.5)])
    # Evidently's correlation widgets divide by zero on a constant column of a short window.
    with np.errstate(invalid="ignore", divide="ignore"):
        snap = report.run(cur, ref)  # current first
    if html_path is not None:
        Path(html_path).parent.mkdir(parents=True, exist_ok=True)
        snap.save_html(str(html_path))
    return parse_drift_report(json.loads(snap.json()), columns)


def ks_pvalues(reference: pd.DataFrame, current: pd.DataFrame, columns: list[str],
               engine: str = "evidently", html_path: str | Path | None = None) -> dict:
    """KS p-values per column with the chosen engine (``evidently`` or ``scipy``)."""
    if engine == "evidently":
        return ks_pvalues_evidently(reference, current, columns, html_path)
    if engine == "scipy":
        return ks_pvalues_scipy(reference, current, columns)
    raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")


def adjust_pvalues(pvalues: np.ndarray, method: str) -> np.ndarray:
    """Multiple-testing adjusted p-values: ``bh`` (Benjamini-Hochberg step-up) or ``bonferroni``.

    NaN entries are not tests: they stay NaN and do not count in the family size.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, math.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    q = p[ok]
    if method == "bonferroni":
        out[ok] = np.minimum(q * m, 1.0)
        return out
    if method != "bh":
        raise ValueError(f"unknown correction {method!r}")
    order = np.argsort(q)
    scaled = q[order] * m / np.arange(1, m + 1)
    # Step-up: the adjusted value of rank i is the min of scaled values at ranks >= i.
    adj = np.minimum.accumulate(scaled[::-1])[::-1]
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out
