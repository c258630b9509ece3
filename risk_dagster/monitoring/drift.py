"""Drift of a champion's input features and predictions, and of the trader's behaviour.

Each check of one trader runs two kinds of test, and one Benjamini-Hochberg correction over all
of them (an alarm: smallest corrected p-value <= ``alpha``):
- **KS** (Evidently's ``DataDriftPreset``, or the same p-values through SciPy) of the champion's
  own-behaviour features and its prediction ``p_large_loss``, last 20 rows vs the reference: the
  "model inputs moved" view, with an HTML report for people. Features with few distinct values
  (counts, streaks, flags: ``MonitoringConfig.ks_min_distinct``) are left out.
- **Behaviour shift** (``behaviour.py``) of the activity-and-size fingerprint over the last 5
  rows: the fast "the trader changed" view.

Why these methods, at per-trader sample sizes (5-20 current rows vs ~250 reference rows):
- PSI/Wasserstein at their usual 0.1 threshold alarm on almost every small window with no drift
  (REFERENCE.md: PSI@0.1 on ~100% of 20-row windows), so we use p-values that account for the
  sample sizes, corrected together for the ~10-20 tests of a check.
- KS assumes independent rows, but most features are rolling aggregates (21-day volatility,
  drawdown...) whose day-to-day autocorrelation is 0.9+, so their raw KS p-value is tiny with no
  drift at all. Each (column, window) KS test is calibrated on the reference itself (genomic
  control): pseudo-windows of the same length are cut from the reference and tested against the
  rest of it (minus a gap on each side), the inflation factor is ``median(-ln p) / ln 2`` (1 for
  independent rows, clipped to [min_inflation, max_inflation]), and a current p-value becomes
  ``p ** (1 / inflation)``.
- KS on 5 rows is the wrong tool for a new habit: a trader who trades 1.8x bigger is still
  inside the range of its own post-loss days, and 5-row KS tests of rolling features made most of
  the false alarms (bench/drift.py while designing this, BH 0.002, both with the shift test: 8.2%
  of stationary trader-weeks with 5- and 20-row KS, 5.7% with 20-row KS only). The shift test
  compares the 5-row mean of state-explained residuals with the reference's own 5-row means
  instead: all 10 changed traders of the bench were found within 4 sessions.
- ``alpha`` = 0.0005: on the bench's stationary months (33 monitored traders x 20 weeks, daily
  checks) 1.7% of trader-weeks alarmed (5.1% at 0.002, 3.3% at 0.001), and every changed trader
  was still found within 5 sessions (seeds 3 and 11: 1.7% and 1.6%; 100 traders: 4.4%; all
  changed traders found in each).
Evidently computes the production KS p-values (and the HTML report); the calibration uses the
same test through SciPy (see ``ks.py``).
"""

from __future__ import annotations

import functools
import html
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from risk_dagster.monitoring.behaviour import (STATE_COLUMNS, BehaviourBaseline, fit_baseline,
                                               shift_test_rows)
from risk_dagster.monitoring.config import MonitoringConfig
from risk_dagster.monitoring.ks import (adjust_pvalues, ks_pvalue_columns, ks_pvalues,
                                        numeric_matrix, pseudo_window_pvalue_matrix,
                                        testable_columns)
from risk_dagster.monitoring.rows import Rows


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

    table: one row per test: test (``ks`` or ``shift``), column, window, p_value (raw,
        fraction), z (shift tests: residual mean in sd of the reference's window means),
        inflation (KS calibration; 1 for shift tests), p_calibrated, q_value (corrected),
        drifted (q_value <= alpha).
    drifted_features: features (not the prediction) with a drifted test of either kind;
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


def _day(value) -> np.datetime64:
    return np.datetime64(pd.Timestamp(value).date(), "D")


def reference_span(dates: np.ndarray, end, cfg: MonitoringConfig, since=None) -> tuple[int, int]:
    """Positions ``lo:hi`` of one trader's reference rows among its rows sorted by date
    (``dates``: datetime64[D], from the trader's first row): rows up to ``end`` except the first
    ``cfg.warmup_rows``, after ``since`` when given, the last ``cfg.reference_rows`` of them
    (see ``reference_window``)."""
    lo = cfg.warmup_rows
    if since is not None:
        lo = max(lo, int(np.searchsorted(dates, _day(since), "right")))
    hi = int(np.searchsorted(dates, _day(end), "right"))
    if hi <= lo:
        return lo, lo
    return max(lo, hi - cfg.reference_rows), hi


def unfilled_windows(windows: dict[str, int] | None, cfg: MonitoringConfig) -> dict[str, int]:
    """The features whose window is longer than the warm-up: NaN in a reference row before
    the trader has that many rows (see ``reference_window``)."""
    return {c: w for c, w in (windows or {}).items() if w > cfg.warmup_rows}


def reference_window(history: pd.DataFrame, end, cfg: MonitoringConfig,
                     windows: dict[str, int] | None = None, since=None) -> pd.DataFrame:
    """One trader's reference rows: its rows up to ``end`` (the champion's last training date)
    except its first ``cfg.warmup_rows`` rows, the last ``cfg.reference_rows`` of them.
    ``history`` must start at the trader's first row. ``windows``: rows a feature needs to be
    full (``drift_report.feature_windows``); a longer one than ``warmup_rows`` is NaN in the
    reference rows before it is full (a 63-day mean over the trader's first 30 days is another
    quantity, and a trader who joined months before the cutoff would alarm once it matured).
    ``since``: the date of the drift report that last had the trader retrained; only later rows
    are reference. A changed trader is otherwise compared with its old self for months (every
    week of the changed traders alarmed, through week 13+, in bench/drift.py) and retrained at
    every cooldown; this way it is not drift-tested again until ``min_reference_sessions`` rows
    of the new behaviour make a reference (its decay still is)."""
    rows = _sorted(history).reset_index(drop=True)
    dates = pd.to_datetime(rows["trade_date"]).to_numpy().astype("datetime64[D]")
    lo, hi = reference_span(dates, end, cfg, since)
    ref = rows.iloc[lo:hi]
    long = {c: w for c, w in unfilled_windows(windows, cfg).items() if c in ref}
    if long:
        ref = ref.copy()
        for c, w in long.items():
            ref.loc[ref.index < w, c] = np.nan
    return ref


def tested_columns(reference, current, features: list[str],
                   cfg: MonitoringConfig) -> list[str]:
    """The champion's features, plus ``p_large_loss`` when configured and present on both sides
    (frames or ``Rows``)."""
    cols = list(dict.fromkeys(features))
    missing = [c for c in cols if c not in reference or c not in current]
    if missing:
        raise KeyError(f"features missing from the frames: {missing}")
    if cfg.ks_min_distinct > 1 and cols:  # counts and flags: not for KS (see config)
        values = np.asarray(numeric_matrix(reference, cols) if isinstance(reference, pd.DataFrame)
                            else reference.matrix(cols), dtype=float)
        cols = [c for j, c in enumerate(cols)
                if len(np.unique(values[np.isfinite(values[:, j]), j])) >= cfg.ks_min_distinct]
    if cfg.test_predictions and PREDICTION in reference and PREDICTION in current:
        cols.append(PREDICTION)
    return cols


def _needed(features, cfg: MonitoringConfig) -> list[str]:
    """Every column a check reads: the tested ones and the shift test's."""
    return list(dict.fromkeys([*features, PREDICTION, *cfg.shift_features, *STATE_COLUMNS]))


def check_rows(frame, features, cfg: MonitoringConfig) -> Rows:
    """A frame's rows sorted by date as ``Rows`` of the columns a check of ``features`` reads
    (a ``Rows`` is returned as it is): convert once to run many checks."""
    return frame if isinstance(frame, Rows) else Rows.from_frame(_sorted(frame),
                                                                 _needed(features, cfg))


def pseudo_window_starts(n: int, w: int, cfg: MonitoringConfig) -> np.ndarray:
    """Starts of the reference's pseudo-windows of ``w`` rows whose rest (minus the gaps) has
    ``cfg.min_reference_rows`` rows."""
    return np.array([s for s in range(0, n - w + 1, cfg.calibration_step)
                     if max(s - cfg.calibration_gap, 0)
                     + n - min(s + w + cfg.calibration_gap, n) >= cfg.min_reference_rows],
                    dtype=np.int64)


def calibrate(reference, columns: list[str], cfg: MonitoringConfig) -> Calibration:
    """Inflation factor per (column, window) from pseudo-windows of the reference (see module doc).

    In: the reference rows (a frame, sorted by trade_date inside, or ``Rows``), the columns to
    test. Out: Calibration; a (column, window) with fewer than 5 usable pseudo-windows gets no
    entry (factor 1).
    """
    ref = (reference.matrix(columns) if isinstance(reference, Rows)
           else numeric_matrix(_sorted(reference), columns))
    n = len(ref)
    inflation, n_pseudo = {}, {}
    for w in cfg.current_windows:
        starts = pseudo_window_starts(n, w, cfg)
        n_pseudo[w] = len(starts)
        pvals = pseudo_window_pvalue_matrix(ref, starts, w, cfg.calibration_gap,
                                            cfg.min_reference_rows, cfg.min_current_rows)
        for c, lam in zip(columns, _medians(-np.log(np.clip(pvals, 1e-300, 1.0))), strict=True):
            if not np.isnan(lam):
                lam = float(lam) / _LN2
                inflation[(c, w)] = float(np.clip(lam, cfg.min_inflation, cfg.max_inflation))
    return Calibration(inflation=inflation, n_pseudo=n_pseudo)


def _medians(values: np.ndarray, least: int = 5) -> np.ndarray:
    """``np.median`` of each row's non-NaN values (NaN for a row with fewer than ``least``):
    the middle value, or the mean of the two middle ones, as ``np.median`` computes them."""
    count = (~np.isnan(values)).sum(axis=1)
    if values.shape[1] < least:
        return np.full(len(values), np.nan)
    ordered = np.sort(values, axis=1)  # NaN last
    rows = np.arange(len(values))
    lo, hi = ordered[rows, np.maximum(count - 1, 0) // 2], ordered[rows, count // 2 - (count == 0)]
    out = np.where(count % 2 == 1, lo, np.mean(np.stack([lo, hi]), axis=0))
    return np.where(count >= least, out, np.nan)


def _window_tests(reference: Rows, current: Rows, columns: list[str], cfg: MonitoringConfig,
                  engine: str, html_path) -> list[tuple[str, int, float]]:
    """Raw KS p-values (column, window, p) for every (column, window) the current rows allow."""
    out = []
    windows = sorted(w for w in cfg.current_windows if len(current) >= w)
    if not windows or not columns:
        return out
    ref = reference.matrix(columns)
    n_ref = np.isfinite(ref).sum(axis=0)
    for w in windows:
        cur = current.tail(w).matrix(columns)
        n_cur = np.isfinite(cur).sum(axis=0)
        ok = (n_ref >= cfg.min_reference_rows) & (n_cur >= cfg.min_current_rows)
        cols = [c for c, keep in zip(columns, ok, strict=True) if keep]
        if engine == "scipy":
            p = ks_pvalue_columns(ref[:, ok], cur[:, ok])
            out.extend((c, w, float(v)) for c, v in zip(cols, p, strict=True))
            continue
        # The HTML report, when asked for, is the one of the longest window.
        path = html_path if (html_path is not None and w == windows[-1]) else None
        got = ks_pvalues(reference.to_frame(cols), current.tail(w).to_frame(cols), cols,
                         engine=engine, html_path=path)
        out.extend((c, w, float(v)) for c, v in got.items())
    return out


def _label(test: str, window: int, z: float) -> str:
    if test == "shift":
        return f"shift {window}d, {'+' if z > 0 else '-'}{abs(z):.1f} sd"
    return f"KS {window}d"


def _order(q: np.ndarray) -> np.ndarray:
    """The row order of ``DataFrame.sort_values`` on ``q`` (quicksort, NaN last): the reason
    names the tests in this order."""
    nan = np.isnan(q)
    idx = np.arange(len(q))
    return np.concatenate([idx[~nan][q[~nan].argsort(kind="quicksort")], idx[nan]])


def _reason(t: dict, drifted: bool, n_reference: int, cfg: MonitoringConfig) -> str:
    if n_reference < cfg.min_reference_sessions:
        return (f"not tested: {n_reference} reference rows (< {cfg.min_reference_sessions}; "
                f"the trader's first {cfg.warmup_rows} rows and its rows up to its last drift "
                "retraining are left out)")
    if not len(t["column"]):
        return "not tested: too few current rows"
    seen, best = set(), []  # each column's first test by q-value
    for i in _order(t["q_value"]).tolist():
        if t["column"][i] not in seen:
            seen.add(t["column"][i])
            best.append(i)
    if not drifted:
        return f"no drift (smallest q={t['q_value'][best[0]]:.3g} > alpha={cfg.alpha})"
    hits = [i for i in best if t["drifted"][i]]
    parts = [f"{t['column'][i]} ({_label(t['test'][i], t['window'][i], t['z'][i])}, "
             f"q={t['q_value'][i]:.2g})" for i in hits[:5]]
    more = f" +{len(hits) - 5} more" if len(hits) > 5 else ""
    return "drift: " + ", ".join(parts) + more


def fit_reference(reference, current, features: list[str],
                  cfg: MonitoringConfig) -> tuple[Calibration, BehaviourBaseline]:
    """What ``drift_scores`` learns from one reference, to reuse for every later check of it:
    the KS calibration of the tested columns and the shift test's baseline (both empty for a
    reference shorter than ``cfg.min_reference_sessions``, which is not tested). Frames or
    ``Rows``."""
    if len(reference) < cfg.min_reference_sessions:
        return (Calibration(inflation={}, n_pseudo={}),
                BehaviourBaseline(coef={}, window_sd={}, n_reference=len(reference)))
    reference = check_rows(reference, features, cfg)
    current = check_rows(current, features, cfg)
    return (calibrate(reference, tested_columns(reference, current, features, cfg), cfg),
            fit_baseline(reference, cfg.shift_features, cfg.shift_windows, cfg.min_reference_rows))


@functools.cache
def _code_version() -> str:
    """SHA-256 (first 12 hex) of the modules a reference fit is computed by."""
    import hashlib

    h = hashlib.sha256()
    here = Path(__file__).parent
    for name in ("drift.py", "behaviour.py", "ks.py", "rows.py", "config.py"):
        h.update(name.encode())
        h.update((here / name).read_bytes())
    return h.hexdigest()[:12]


def reference_digest(reference: Rows, current: Rows, features: list[str],
                     cfg: MonitoringConfig) -> str:
    """What ``fit_reference`` depends on, hashed (SHA-256 hex): the reference's values of every
    column it reads, the tested columns, the configuration and the code of the fit. Equal
    digests give equal fits, so a fit stored under its digest is reused by any later run
    (``drift_report.DriftCache.store``) and a changed row, setting or algorithm never is."""
    import hashlib
    import json

    columns = tested_columns(reference, current, features, cfg)
    read = [c for c in dict.fromkeys([*columns, *cfg.shift_features, *STATE_COLUMNS])
            if c in reference]
    h = hashlib.sha256(json.dumps([_code_version(), cfg.to_dict(), columns, read, len(reference)],
                                  sort_keys=True).encode())
    h.update(np.ascontiguousarray(reference.matrix(read), dtype=np.float64).tobytes())
    return h.hexdigest()


def fit_to_json(calibration: Calibration, baseline: BehaviourBaseline) -> dict:
    """A reference fit as JSON-safe lists (floats round-trip exactly)."""
    return {"inflation": [[c, w, v] for (c, w), v in calibration.inflation.items()],
            "n_pseudo": [[w, v] for w, v in calibration.n_pseudo.items()],
            "coef": [[c, b.tolist()] for c, b in baseline.coef.items()],
            "window_sd": [[c, w, v] for (c, w), v in baseline.window_sd.items()],
            "n_reference": baseline.n_reference}


def fit_from_json(data: dict) -> tuple[Calibration, BehaviourBaseline]:
    """``fit_to_json``'s inverse."""
    return (Calibration(inflation={(c, int(w)): float(v) for c, w, v in data["inflation"]},
                        n_pseudo={int(w): int(v) for w, v in data["n_pseudo"]}),
            BehaviourBaseline(coef={c: np.asarray(b, dtype=float) for c, b in data["coef"]},
                              window_sd={(c, int(w)): float(v) for c, w, v in data["window_sd"]},
                              n_reference=int(data["n_reference"])))


TABLE_COLUMNS = ("test", "column", "window", "z", "p_value", "inflation", "p_calibrated",
                 "q_value", "drifted")


def drift_scores(reference, current, features: list[str],
                 cfg: MonitoringConfig | None = None, *, calibration: Calibration | None = None,
                 baseline: BehaviourBaseline | None = None, engine: str = "evidently",
                 html_path: str | Path | None = None) -> DriftResult:
    """Drift of one trader's champion inputs and predictions, current vs reference.

    reference: the champion's reference rows (``trade_date, trader_id``, the features and, if
    available, ``p_large_loss``); current: the trader's rows after the reference up to the check
    date (the last ``w`` rows are tested for each ``w`` in ``cfg.current_windows``); frames, or
    ``Rows`` sorted by date (what ``drift_report`` passes); features: the champion's feature
    names (KS tests). ``calibration``: from ``calibrate``; ``baseline``: from
    ``behaviour.fit_baseline`` on the reference (both computed here when None; pass them to reuse
    across checks). ``engine``: ``evidently`` (production) or ``scipy`` (same test,
    fast). ``html_path``: also save the Evidently HTML report of the longest window (~5 MB).
    """
    cfg = cfg or MonitoringConfig()
    reference = check_rows(reference, features, cfg)
    current = check_rows(current, features, cfg)
    columns = tested_columns(reference, current, features, cfg)
    if len(reference) < cfg.min_reference_sessions:  # too short to stand for the trader: untested
        columns = []
        calibration, baseline = fit_reference(reference, current, features, cfg)
    if calibration is None:
        calibration = calibrate(reference, columns, cfg)
    if baseline is None:
        baseline = fit_baseline(reference, cfg.shift_features, cfg.shift_windows,
                                cfg.min_reference_rows)
    t0 = time.perf_counter()
    ks = _window_tests(reference, current, columns, cfg, engine,
                       html_path if engine == "evidently" else None)
    seconds = time.perf_counter() - t0
    shift = shift_test_rows(baseline, reference, current, cfg.shift_windows,
                            cfg.min_current_rows)
    t = {"test": np.array(["ks"] * len(ks) + ["shift"] * len(shift), dtype=object),
         "column": np.array([c for c, _, _ in ks] + [r["column"] for r in shift], dtype=object),
         "window": np.array([w for _, w, _ in ks] + [r["window"] for r in shift], dtype=np.int64),
         "z": np.array([math.nan] * len(ks) + [r["z"] for r in shift], dtype=float),
         "p_value": np.array([p for _, _, p in ks] + [r["p_value"] for r in shift], dtype=float),
         "inflation": np.array([calibration.factor(c, w) for c, w, _ in ks] + [1.0] * len(shift),
                               dtype=float)}
    t["p_calibrated"] = t["p_value"] ** (1.0 / t["inflation"])
    t["q_value"] = adjust_pvalues(t["p_calibrated"], cfg.correction)
    t["drifted"] = t["q_value"] <= cfg.alpha
    n = len(t["test"])
    min_q = float(np.nanmin(t["q_value"])) if n and not np.isnan(t["q_value"]).all() else math.nan
    drifted = bool(n and min_q <= cfg.alpha)
    is_pred = t["column"] == PREDICTION
    drifted_features = sorted(set(t["column"][~is_pred & t["drifted"]].tolist()))
    n_feats = len(set(t["column"][~is_pred].tolist()))
    pred_p = t["p_calibrated"][is_pred]
    return DriftResult(
        trader_id=current.trader_id if len(current) else "", drifted=drifted,
        reason=_reason(t, drifted, len(reference), cfg),
        score=0.0 if math.isnan(min_q) else float(-np.log10(max(min_q, 1e-300))),
        drift_share=len(drifted_features) / n_feats if n_feats else 0.0,
        drifted_features=drifted_features,
        prediction_pvalue=float(pred_p.min()) if len(pred_p) else math.nan,
        prediction_drifted=bool(t["drifted"][is_pred].any()),
        n_reference=len(reference), n_current=len(current),
        table=pd.DataFrame({c: t[c] for c in TABLE_COLUMNS}), engine=engine,
        seconds=seconds, html_path=str(html_path) if html_path and engine == "evidently" else None,
    )


def save_drift_html(reference: pd.DataFrame, current: pd.DataFrame, features: list[str],
                    cfg: MonitoringConfig, path: str | Path,
                    result: DriftResult | None = None) -> Path:
    """Evidently's drift report of one trader, for people: the champion's features, the
    fingerprint and ``p_large_loss``, last ``max(window)`` current rows vs the reference (an alarm
    from the 5-row shift test still gets a report, on the rows there are). With ``result``, our
    decision and its tests head the page: Evidently's own per-column verdicts are raw KS at 0.05,
    which a persistent rolling feature fails with no drift at all."""
    reference, current = _sorted(reference), _sorted(current)
    rows = current.tail(max(cfg.current_windows + cfg.shift_windows))
    wanted = list(dict.fromkeys([*features, *cfg.shift_features, PREDICTION]))
    present = [c for c in wanted if c in reference and c in rows]
    cols = testable_columns(reference, rows, present, cfg.min_reference_rows,
                            min(cfg.min_current_rows, len(rows)))
    ks_pvalues(reference, rows, cols, engine="evidently", html_path=path)
    path = Path(path)
    # Evidently's page inlines its scripts and font but has no title: name the trader and date
    trader = str(rows["trader_id"].iloc[-1]) if "trader_id" in rows and len(rows) else ""
    day = str(pd.Timestamp(rows["trade_date"].max()).date()) if "trade_date" in rows and len(
        rows) else ""
    page = path.read_text(encoding="utf-8").replace(
        "<head>", f"<head><title>Drift report {html.escape(trader)} {day}</title>", 1)
    if result is not None:
        page = page.replace("<body>", "<body>" + decision_html(result, cfg), 1)
    path.write_text(page, encoding="utf-8")
    return path


def decision_html(result: DriftResult, cfg: MonitoringConfig, top: int = 15) -> str:
    """An HTML block with the decision of one check and its ``top`` tests by q-value."""
    table = result.table.sort_values("q_value").head(top)
    shown = pd.DataFrame({
        "test": table["test"], "column": table["column"], "rows": table["window"],
        "z": table["z"].map(lambda v: "" if pd.isna(v) else f"{v:+.1f}"),
        "raw p": table["p_value"].map("{:.2g}".format),
        "KS inflation": table["inflation"].map("{:.1f}".format),
        "q (BH)": table["q_value"].map("{:.2g}".format),
        "drift": table["drifted"].map({True: "yes", False: ""}),
    })
    verdict = "DRIFT" if result.drifted else "no drift"
    return (
        "<style>.rd-decision td,.rd-decision th{padding:2px 10px;text-align:left}</style>"
        '<section class="rd-decision" style="font-family:sans-serif;margin:16px 32px;'
        'padding:12px 16px;border:2px solid #c00;border-radius:6px">'
        f"<h2>risk_dagster: {html.escape(result.trader_id)} &mdash; {verdict}</h2>"
        f"<p>{html.escape(result.reason)}</p>"
        f"<p>{result.n_reference} reference rows, {result.n_current} current rows; an alarm is a "
        f"Benjamini-Hochberg q &le; {cfg.alpha} over every test below (KS p-values calibrated "
        "for autocorrelation on the reference; shift = mean of the last rows' residuals of "
        "activity and size given the trader's state, in sd of the reference's own windows).</p>"
        + shown.to_html(index=False, border=0) +
        "<p><i>The Evidently report below shows raw KS p-values against its default 0.05 "
        "threshold, for looking at the distributions; its &ldquo;Detected&rdquo; marks are not "
        "the decision.</i></p></section>")
