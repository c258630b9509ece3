"""Two-sample Kolmogorov-Smirnov p-values per column, through Evidently or directly through SciPy.

Evidently 0.7's ``ks`` stattest is ``scipy.stats.ks_2samp(reference, current)[1]`` on the
non-missing values, so both engines give the same p-values (a test checks it). Evidently is the
production engine (it also renders the HTML report); SciPy is used where hundreds of windows are
tested (reference calibration, benches), because each Evidently report spends ~1-2 s rendering
Plotly widgets that we do not read.
"""

from __future__ import annotations

import itertools
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
    return _cached_pvalue(n1, n2, int(round(d * n1 * n2)), lambda: (a, b))


def _sorted_columns(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row of ``values`` (columns x rows) sorted, non-finite values last: the original row
    of each sorted position, whether it is finite, and whether it ends a run of equal finite
    values (where an empirical CDF is read: the counts of values <= x, as
    ``searchsorted(..., "right")`` gives)."""
    finite = np.isfinite(values)
    key = np.where(finite, values, np.inf)
    order = np.argsort(key, axis=1, kind="stable")
    ordered = np.take_along_axis(key, order, axis=1)
    fin = np.take_along_axis(finite, order, axis=1)
    last = np.ones((len(values), 1), dtype=bool)
    ends = fin & np.concatenate([ordered[:, 1:] != ordered[:, :-1], last], axis=1)
    return order, fin, ends


def _ks_counts(ends: np.ndarray, in_a: np.ndarray, in_b: np.ndarray):
    """Sizes of both samples and the KS distance in units of 1 / (n_a * n_b), an integer
    (``n_a * n_b * max |F_a - F_b|``), per column and sample pair. ``in_a`` / ``in_b``:
    (columns, pairs, rows) membership of each sorted position; ``ends``: (columns, rows)."""
    ca = np.cumsum(in_a, axis=2, dtype=np.int64)
    cb = np.cumsum(in_b, axis=2, dtype=np.int64)
    na, nb = ca[:, :, -1], cb[:, :, -1]
    gap = np.abs(ca * nb[:, :, None] - cb * na[:, :, None])
    return na, nb, np.where(ends[:, None, :], gap, 0).max(axis=2)


_MAX_EXACT_N = 10_000  # ks_2samp's MAX_AUTO_N: "auto" is exact up to this sample size


def _exact_pvalue(n1: int, n2: int, d: int) -> float | None:
    """The p-value ``ks_2samp(method="auto")`` gives for sizes ``n1``, ``n2`` and distance
    ``d / (n1 * n2)`` when it takes its exact path, from the function it calls for it (without
    its argument handling: ~0.5 ms of the ~0.55 ms of a call, and a fresh process meets
    thousands of distinct (n1, n2, d) in one morning's calibrations). None when ks_2samp would
    not be exact, or when SciPy's private function is not there (the caller then runs
    ks_2samp itself)."""
    try:
        from scipy.stats._stats_py import _attempt_exact_2kssamp
    except ImportError:
        return None
    if max(n1, n2) > _MAX_EXACT_N:
        return None
    ok, _, prob = _attempt_exact_2kssamp(n1, n2, math.gcd(n1, n2), d / (n1 * n2), "two-sided")
    return float(np.clip(prob, 0, 1)) if ok else None


def _cached_pvalue(n1: int, n2: int, d: int, samples) -> float:
    """ks_2samp's p-value for sizes ``n1``, ``n2`` and distance ``d / (n1 * n2)``, computed
    the first time these integers are seen (``_exact_pvalue``, else ks_2samp on
    ``samples()``, the two finite samples)."""
    key = (n1, n2, d)
    if key not in _P_CACHE:
        p = _exact_pvalue(n1, n2, d)
        if p is None:
            a, b = samples()
            p = float(ks_2samp(a, b)[1])
        _P_CACHE[key] = p
    return _P_CACHE[key]


def _codes(n1: np.ndarray, n2: np.ndarray, d: np.ndarray) -> np.ndarray:
    """(n1, n2, d) keys as one int64 each (n1 < 2**20, n2 < 2**14, d < 2**29)."""
    if len(n1) and (n1.max() >= 2**20 or n2.max() >= 2**14 or d.max() >= 2**29):
        raise ValueError("KS sample sizes too large for the p-value table")
    return (n1 << 43) | (n2 << 29) | d


class _PTable:
    """``_P_CACHE`` as sorted codes and p-values, for looking up thousands of keys at once;
    keys added to the cache since the last lookup are merged in first."""

    def __init__(self):
        self.codes, self.p, self.seen = np.empty(0, dtype=np.int64), np.empty(0), 0

    def lookup(self, codes: np.ndarray) -> np.ndarray:
        """The p-value of each code, NaN if unknown."""
        if self.seen > len(_P_CACHE):  # the cache was cleared
            self.__init__()
        if self.seen != len(_P_CACHE):  # the dict keeps insertion order: new keys are last
            new = list(itertools.islice(_P_CACHE.items(), self.seen, None))
            keys = np.array([k for k, _ in new], dtype=np.int64).reshape(-1, 3)
            add = _codes(keys[:, 0], keys[:, 1], keys[:, 2])
            order = np.argsort(add)
            at = np.searchsorted(self.codes, add[order])
            self.codes = np.insert(self.codes, at, add[order])
            self.p = np.insert(self.p, at, np.array([v for _, v in new])[order])
            self.seen = len(_P_CACHE)
        pos = np.minimum(np.searchsorted(self.codes, codes), max(len(self.codes) - 1, 0))
        found = (self.codes[pos] == codes) if len(self.codes) else np.zeros(len(codes), bool)
        return np.where(found, self.p[pos] if len(self.codes) else np.nan, np.nan)


_P_TABLE = _PTable()


def pseudo_window_pvalues(column: np.ndarray, starts: np.ndarray, window: int, gap: int,
                          min_rest: int, min_window: int) -> list[float]:
    """KS p-values of the pseudo-windows ``column[s:s + window]`` against the rest of
    ``column`` minus ``gap`` rows on each side, for each start ``s`` of ``starts`` whose two
    samples have at least ``min_rest`` / ``min_window`` finite values (the others are left out),
    in the order of ``starts``: ``ks_pvalue`` of each pair (``pseudo_window_pvalue_matrix``
    of one column)."""
    p = pseudo_window_pvalue_matrix(np.asarray(column, dtype=float)[:, None], starts, window,
                                    gap, min_rest, min_window)[0]
    return p[~np.isnan(p)].tolist()


def _run_bounds(ordered: np.ndarray, fin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per sorted position: the first and the last position of its run of equal values."""
    k, m = ordered.shape
    pos = np.broadcast_to(np.arange(m), (k, m))
    new = np.concatenate([np.ones((k, 1), dtype=bool), ordered[:, 1:] != ordered[:, :-1]], axis=1)
    last = np.concatenate([new[:, 1:], np.ones((k, 1), dtype=bool)], axis=1)
    first = np.maximum.accumulate(np.where(new, pos, 0), axis=1)
    end = np.minimum.accumulate(np.where(last, pos, m)[:, ::-1], axis=1)[:, ::-1]
    return np.where(fin, first, m), np.where(fin, end, m)


def pseudo_window_pvalue_matrix(matrix: np.ndarray, starts: np.ndarray, window: int, gap: int,
                                min_rest: int, min_window: int) -> np.ndarray:
    """``pseudo_window_pvalues`` of every column of ``matrix`` (rows x columns) and start, at
    once: (columns x starts), NaN where a start is left out.

    The KS distance of a window against the rest, in units of 1 / (n_rest * n_window), is
    ``max |n_window * rest(x) - n_rest * window(x)|`` over the values x of the column, where
    rest(x) and window(x) count the rows <= x. Along the sorted values that difference rises
    at every value outside the band (the window and its gaps) and falls only at band rows, so
    its extremes are at the end of a run of equal values holding a band row or just before
    one: about 2 x (window + 2 gap) candidates instead of every value, read from the band
    rows' ranks alone. The distance is an integer and the p-value is cached on (n_rest,
    n_window, distance) like ``ks_pvalue``'s.
    """
    matrix = np.asarray(matrix, dtype=float)
    starts = np.asarray(starts, dtype=np.int64)
    n, k = matrix.shape
    out = np.full((k, len(starts)), np.nan)
    if len(starts) == 0 or k == 0 or n == 0:
        return out
    if (n + 1) * (window + 2 * gap + 1) >= 2**31:
        raise ValueError(f"{n} rows: too many for the int32 counts of the pseudo-windows")
    order, fin, _ = _sorted_columns(matrix.T)
    ordered = np.take_along_axis(np.where(np.isfinite(matrix.T), matrix.T, np.inf), order, axis=1)
    run_first, run_end = (b.astype(np.int32) for b in _run_bounds(ordered, fin))
    big = n + 1
    rank = np.full((k, n + 1), big, dtype=np.int32)  # column n: rows outside the column
    np.put_along_axis(rank, order, np.where(fin, np.arange(n), big).astype(np.int32), axis=1)
    # the band of each start: rows s - gap .. s + window + gap (outside 0..n-1: none)
    offsets = np.arange(window + 2 * gap)
    rows = starts[:, None] - gap + offsets
    rows = np.where((rows >= 0) & (rows < n), rows, n)
    in_window = ((offsets >= gap) & (offsets < gap + window)).astype(np.int32)
    # sorted position of each band row (x2, + 1 for a window row), sorted per start
    q = np.sort(rank[:, rows] * 2 + in_window, axis=2)
    win, q = q & 1, q >> 1
    finite = q < big
    n_band = finite.sum(axis=2, dtype=np.int32)
    n_window = (win * finite).sum(axis=2, dtype=np.int32)
    n_rest = fin.sum(axis=1, dtype=np.int32)[:, None] - n_band
    flat = np.minimum(q, n - 1) + (np.arange(k, dtype=np.int32) * n)[:, None, None]
    first = np.where(finite, run_first.ravel().take(flat), big)
    end = run_end.ravel().take(flat)
    # band rows of runs before / up to each band row's run (band rows sorted by position)
    b = q.shape[2]
    idx = np.arange(b, dtype=np.int32)
    head = np.ones(q.shape, dtype=bool)
    head[:, :, 1:] = first[:, :, 1:] != first[:, :, :-1]
    tail = np.ones(q.shape, dtype=bool)
    tail[:, :, :-1] = head[:, :, 1:]
    n_before = np.maximum.accumulate(np.where(head, idx, 0), axis=2)
    n_upto = np.minimum.accumulate(np.where(tail, idx, b)[:, :, ::-1], axis=2)[:, :, ::-1] + 1
    wins = np.cumsum(win, axis=2, dtype=np.int32).ravel()
    base = (np.arange(k * len(starts), dtype=np.int32) * b).reshape(k, len(starts), 1)
    w_upto = wins.take(n_upto - 1 + base)
    w_before = wins.take(np.maximum(n_before - 1, 0) + base) * (n_before > 0)
    # int32: |distance| <= n * window
    n1, n2 = n_rest[:, :, None], n_window[:, :, None]
    at_end = n2 * (end + 1 - n_upto) - n1 * w_upto
    before = n2 * (first - n_before) - n1 * w_before
    np.abs(at_end, out=at_end)
    np.abs(before, out=before)
    dist = np.where(finite, np.maximum(at_end, before), 0).max(axis=2)
    ok = (n_rest >= min_rest) & (n_window >= min_window)
    if not ok.any():
        return out
    a_n, b_n, d = (x[ok].astype(np.int64) for x in (n_rest, n_window, dist))
    code = _codes(a_n, b_n, d)
    p = _P_TABLE.lookup(code)
    missing = np.flatnonzero(np.isnan(p))
    if len(missing):  # one pair per distinct key not yet known (its first)
        _, first = np.unique(code[missing], return_index=True)
        where = np.argwhere(ok)
        for m in missing[first].tolist():
            j, i = where[m]
            s, column = int(starts[i]), matrix[:, j]

            def samples(s=s, column=column):
                a = column[np.r_[0:max(s - gap, 0), min(s + window + gap, n):n]]
                b = column[s:s + window]
                return a[np.isfinite(a)], b[np.isfinite(b)]

            _cached_pvalue(int(a_n[m]), int(b_n[m]), int(d[m]), samples)
        p[missing] = [_P_CACHE[(int(a_n[m]), int(b_n[m]), int(d[m]))] for m in missing.tolist()]
    out[ok] = p
    return out


def ks_pvalue_columns(reference: np.ndarray, current: np.ndarray) -> np.ndarray:
    """``ks_pvalue`` of each column of ``reference`` (rows x columns) against the same column
    of ``current``, on the finite values of each side, computed for every column at once (each
    column needs a finite value on both sides)."""
    reference, current = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    n1, k = reference.shape
    if k == 0:
        return np.empty(0)
    order, fin, ends = _sorted_columns(np.concatenate([reference, current]).T)
    in_ref = fin & (order < n1)
    na, nb, dist = _ks_counts(ends, in_ref[:, None, :], (fin & ~in_ref)[:, None, :])
    out = np.empty(k)
    for j in range(k):
        a, b = reference[:, j], current[:, j]
        out[j] = _cached_pvalue(int(na[j, 0]), int(nb[j, 0]), int(dist[j, 0]),
                                lambda a=a, b=b: (a[np.isfinite(a)], b[np.isfinite(b)]))
    return out


def ks_pvalues_scipy(reference: pd.DataFrame, current: pd.DataFrame, columns: list[str]) -> dict:
    """KS p-value (fraction) per column, from the finite values of each side."""
    p = ks_pvalue_columns(numeric_matrix(reference, columns), numeric_matrix(current, columns))
    return dict(zip(columns, p.tolist(), strict=True))


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
