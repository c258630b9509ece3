"""Out-of-sample calibration of the 5% VaR behind each published loss limit (split conformal).

Every model family forecasts ``var_05``, the 5% quantile of the next session's net P&L (USD,
negative). Out of sample they are too tight (the demo's champions: 6.95% of trader-days below
their VaR, Kupiec p = 2.5e-20), so the loss limit built on them is looser than it claims.

Split-conformal correction on the walk-forward residuals, with a multiplicative score so that
traders of any size share one scale:

- nonconformity of a labelled row: ``s = -next_net_pnl / b`` with ``b = max(-var_05, 1 USD)``,
  the loss in units of the forecast VaR (a violation is ``s > 1``);
- the scale ``c`` is the conformal (1 - level) quantile of the calibration scores: the
  ``ceil((n + 1)(1 - level))``-th smallest of n (coverage >= 1 - level for exchangeable rows);
- the calibrated VaR is ``-c x b``: ``c > 1`` widens a VaR that was too tight.

On top of the per-trader scale, one firm-wide multiplier ``m`` is tracked online (quantile
tracking, ``tracked_multipliers``): after each date, ``log m += eta x (violations - level x n)``
over the n outcomes labelled that date. A window of 40 rows is two months of one trader's
history, so when the firm's risk moves the scale alone lags it (the replay's first weeks of
2025: walk-forward rows of Dec-Jan breached 6.1-6.4% after the conformal scale); the multiplier
answers within days and keeps the long-run rate at the level whatever the sequence. The
evaluation tracks it over the champions' walk-forward rows and stores the state with each
champion; each morning's scoring moves it on with the outcomes of the VaRs published since
(``advance_multiplier``), so the published VaR is ``m x scale x`` the forecast.

Point in time: a row's calibration set is the rows whose outcome was known at its trade date's
close (``label_date <= trade_date``); the serving scale (stored with the champion) uses the
latest out-of-sample rows, all of which are labelled before the training cut-off. A trader with
at least ``min_trader_rows`` such rows gets its own scale from its last ``window_rows`` of them,
otherwise the firm-wide one from every trader's rows (``min_firm_rows`` at least), otherwise
none (1.0).

Why a short recent window: the traders' risk moves (regimes, habits), and a scale from all past
rows lags it. On the demo's champions (40 traders, 11,642 walk-forward rows with a calibration
set) the raw VaR was breached on 6.95% of rows (Kupiec p = 2.5e-20); calibrated with every
past row of the trader (from 120 rows), 6.29% (p = 8e-10); with its last 60 rows (from 30),
5.36% (p = 0.08); with its last 40 (from 20), the defaults, 5.22% (p = 0.27). These settings
were chosen on those demo rows (7 pairs tried); the replay checks them on later mornings.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from risk_dagster.evaluation.metrics import var_backtest

MIN_BASE_USD = 1.0  # a VaR forecast at or above 0 (a gain) still has a unit to scale


@dataclass(frozen=True)
class VarCalibrationConfig:
    """level: the VaR's tail probability (fraction); min_trader_rows: labelled past rows before
    a trader gets its own scale; window_rows: the trader's latest rows used (None = all);
    min_firm_rows: past rows (all traders) before the firm-wide scale is used;
    tracking_rate: the firm-wide multiplier's step in log units per outcome counted (``eta``,
    0 = no tracking; 0.05 chosen on the 40-trader replay's walk-forward rows, 5 rates tried,
    see the README); multiplier_bounds: the multiplier is kept within these."""

    level: float = 0.05
    min_trader_rows: int = 20
    window_rows: int | None = 40
    min_firm_rows: int = 200
    tracking_rate: float = 0.05
    multiplier_bounds: tuple[float, float] = (0.5, 3.0)

    def to_dict(self) -> dict:
        return asdict(self)


def var_base(var_05) -> np.ndarray:
    """The unit of the score: ``max(-var_05, 1)`` (USD)."""
    return np.maximum(-np.asarray(var_05, dtype=float), MIN_BASE_USD)


def scores(next_net_pnl, var_05) -> np.ndarray:
    """Loss in units of the forecast VaR: ``-next_net_pnl / max(-var_05, 1)``."""
    return -np.asarray(next_net_pnl, dtype=float) / var_base(var_05)


def calibrated_var(var_05, scale) -> np.ndarray | pd.Series:
    """``-scale x max(-var_05, 1)`` (USD); NaN where ``var_05`` is."""
    var = pd.Series(var_05, dtype=float) if not isinstance(var_05, pd.Series) else var_05.astype(float)
    out = -np.asarray(scale, dtype=float) * var_base(var.fillna(0.0))
    return pd.Series(out, index=var.index).where(var.notna())


def conformal_scale(s, level: float = 0.05) -> float:
    """The ``ceil((n + 1)(1 - level))``-th smallest score (the largest when that is past n);
    NaN for no score."""
    s = np.sort(np.asarray(s, dtype=float)[~np.isnan(np.asarray(s, dtype=float))])
    n = len(s)
    if n == 0:
        return math.nan
    k = min(math.ceil((n + 1) * (1 - level)), n)
    return float(s[k - 1])


def _usable(rows: pd.DataFrame) -> pd.DataFrame:
    ok = rows["var_05"].notna() & rows["next_net_pnl"].notna()
    out = rows.loc[ok, ["trader_id", "trade_date", "label_date", "var_05", "next_net_pnl"]].copy()
    out["trade_date"] = pd.to_datetime(out["trade_date"])
    out["label_date"] = pd.to_datetime(out["label_date"])
    out["score"] = scores(out["next_net_pnl"], out["var_05"])
    return out


def serving_scales(rows: pd.DataFrame, cfg: VarCalibrationConfig | None = None,
                   traders=()) -> dict[str, dict]:
    """Per trader, the scale to apply to its champion's VaR from now on.

    rows: out-of-sample rows of each trader's champion (``trader_id, trade_date, label_date,
    var_05, next_net_pnl``: USD). Out: trader_id -> {"scale", "n", "scope" ('trader', 'firm'
    or 'none'), "level"} for every trader of ``rows`` and of ``traders`` (those without rows,
    e.g. served by a fallback model, get the firm-wide scale).
    """
    cfg = cfg or VarCalibrationConfig()
    data = _usable(rows).sort_values("label_date")
    firm_n = len(data)
    firm = conformal_scale(data["score"], cfg.level) if firm_n >= cfg.min_firm_rows else math.nan
    out = {str(t): {"scale": 1.0, "n": 0, "scope": "none", "level": cfg.level} for t in traders}
    if not math.isnan(firm):
        out = {t: {"scale": firm, "n": firm_n, "scope": "firm", "level": cfg.level} for t in out}
    for tid, own in data.groupby("trader_id", sort=True):
        own = own if cfg.window_rows is None else own.tail(cfg.window_rows)
        if len(own) >= cfg.min_trader_rows:
            entry = {"scale": conformal_scale(own["score"], cfg.level), "n": len(own),
                     "scope": "trader"}
        elif not math.isnan(firm):
            entry = {"scale": firm, "n": firm_n, "scope": "firm"}
        else:
            entry = {"scale": 1.0, "n": 0, "scope": "none"}
        out[str(tid)] = {**entry, "level": cfg.level}
    return out


def walk_forward_scales(rows: pd.DataFrame, cfg: VarCalibrationConfig | None = None
                        ) -> pd.DataFrame:
    """The scale each out-of-sample row would have been served with: from the rows labelled by
    its trade date only (``label_date <= trade_date``), trader first, firm otherwise.

    Out: ``rows``' index with ``var_scale`` (1.0 where nothing was known yet), ``var_scope``
    ('trader', 'firm', 'none') and ``var_05_calibrated`` (USD; NaN where ``var_05`` is).
    """
    cfg = cfg or VarCalibrationConfig()
    data = _usable(rows).sort_values("label_date", kind="stable")
    day = pd.to_datetime(rows["trade_date"]).to_numpy()
    tid = rows["trader_id"].to_numpy()
    scale = np.ones(len(rows))
    scope = np.full(len(rows), "none", dtype=object)
    # firm-wide: every row labelled by the trade date (computed once per trade date)
    firm_days, firm_scores = data["label_date"].to_numpy(), data["score"].to_numpy()
    firm = {}
    for d in np.unique(day):
        m = int(np.searchsorted(firm_days, d, side="right"))
        firm[d] = conformal_scale(firm_scores[:m], cfg.level) if m >= cfg.min_firm_rows \
            else math.nan
    own = {t: (g["label_date"].to_numpy(), g["score"].to_numpy())
           for t, g in data.groupby("trader_id", sort=False)}
    for i in range(len(rows)):
        days, sc = own.get(tid[i], (firm_days[:0], firm_scores[:0]))
        k = int(np.searchsorted(days, day[i], side="right"))
        start = 0 if cfg.window_rows is None else max(0, k - cfg.window_rows)
        if k - start >= cfg.min_trader_rows:
            scale[i], scope[i] = conformal_scale(sc[start:k], cfg.level), "trader"
        elif not math.isnan(firm[day[i]]):
            scale[i], scope[i] = firm[day[i]], "firm"
    scale_s = pd.Series(scale, index=rows.index)
    return pd.DataFrame({"var_scale": scale_s, "var_scope": pd.Series(scope, index=rows.index),
                         "var_05_calibrated": calibrated_var(rows["var_05"], scale_s)},
                        index=rows.index)


@dataclass(frozen=True)
class Multiplier:
    """The firm-wide factor on every trader's conformal VaR: ``log_value`` after counting the
    outcomes labelled up to ``as_of`` (the last label date counted; None before any)."""

    log_value: float = 0.0
    as_of: dt.date | None = None

    @property
    def value(self) -> float:
        return math.exp(self.log_value)

    def to_dict(self) -> dict:
        return {"multiplier": self.value,
                "multiplier_as_of": self.as_of.isoformat() if self.as_of else None}

    @classmethod
    def from_dict(cls, entry: dict | None) -> "Multiplier":
        """From a champion's ``var_calibration`` (1.0, nothing counted, when it has none)."""
        entry = entry or {}
        as_of = entry.get("multiplier_as_of")
        return cls(math.log(float(entry.get("multiplier", 1.0))),
                   dt.date.fromisoformat(as_of) if as_of else None)


def _step(log_value: float, violations: int, n: int, cfg: VarCalibrationConfig) -> float:
    """One date's update: ``+ eta x (violations - level x n)``, kept within the bounds."""
    lo, hi = (math.log(b) for b in cfg.multiplier_bounds)
    return min(hi, max(lo, log_value + cfg.tracking_rate * (violations - cfg.level * n)))


def tracked_multipliers(rows: pd.DataFrame, cfg: VarCalibrationConfig | None = None,
                        start: Multiplier = Multiplier()) -> tuple[pd.Series, Multiplier]:
    """Quantile tracking of one firm-wide multiplier ``m`` on the conformal VaR (the update of
    Angelopoulos, Candes & Tibshirani 2023, "Conformal PID control for time series
    prediction", in log units): after each date, ``log m += eta x (violations - level x n)``
    over the n outcomes labelled that date, a violation being a loss past ``m x`` the conformal
    VaR in force at the row's trade date. Whatever the sequence, the long-run violation rate
    then stays within ``(bound + eta) / (eta x n_rows)`` of ``level``; the per-trader conformal
    scale alone lags when the firm's risk moves (a window of 40 rows is two months).

    rows: ``trade_date``, ``label_date``, ``next_net_pnl`` and ``var_05_calibrated`` (USD, the
    per-trader conformal VaR, ``walk_forward_scales``). Point in time: a row's multiplier counts
    only outcomes with ``label_date <= trade_date``. Out: the multiplier in force at each row's
    trade date (``rows``' index) and the state after every outcome is counted.
    """
    cfg = cfg or VarCalibrationConfig()
    td = pd.to_datetime(rows["trade_date"]).to_numpy("datetime64[D]")
    ld = pd.to_datetime(rows["label_date"]).to_numpy("datetime64[D]")
    loss = rows["next_net_pnl"].to_numpy(np.float64)
    var = rows["var_05_calibrated"].to_numpy(np.float64)
    by_trade, by_label = np.argsort(td, kind="stable"), np.argsort(ld, kind="stable")
    dates = np.unique(np.concatenate([td, ld]))
    t_sorted, l_sorted = td[by_trade], ld[by_label]
    t_lo, t_hi = np.searchsorted(t_sorted, dates, "left"), np.searchsorted(t_sorted, dates, "right")
    l_lo, l_hi = np.searchsorted(l_sorted, dates, "left"), np.searchsorted(l_sorted, dates, "right")
    m = np.full(len(rows), np.nan)
    log_value, as_of = start.log_value, start.as_of
    for i, day in enumerate(dates):
        counted = by_label[l_lo[i]:l_hi[i]]  # their trade dates are earlier: m is set
        if len(counted):
            violations = int((loss[counted] < var[counted] * m[counted]).sum())
            log_value = _step(log_value, violations, len(counted), cfg)
            as_of = day.astype(dt.date)
        m[by_trade[t_lo[i]:t_hi[i]]] = math.exp(log_value)
    return pd.Series(m, index=rows.index), Multiplier(log_value, as_of)


def advance_multiplier(start: Multiplier, outcomes: pd.DataFrame,
                       cfg: VarCalibrationConfig | None = None) -> tuple[Multiplier, int]:
    """``start`` moved on by published outcomes: ``label_date`` and ``violated`` (the session's
    loss went past the VaR published for it, multiplier included). Outcomes labelled on or
    before ``start.as_of`` were counted already and are left out; the others count date by
    date, as in ``tracked_multipliers``. Out: the new state and how many outcomes it counted."""
    cfg = cfg or VarCalibrationConfig()
    days = pd.to_datetime(outcomes["label_date"]).dt.date
    new = outcomes.assign(label_date=days)
    if start.as_of is not None:
        new = new[new["label_date"] > start.as_of]
    log_value, as_of = start.log_value, start.as_of
    for day, part in new.groupby("label_date", sort=True):
        log_value = _step(log_value, int(part["violated"].sum()), len(part), cfg)
        as_of = day
    return Multiplier(log_value, as_of), len(new)


def violation_report(rows: pd.DataFrame, var_column: str = "var_05",
                     level: float = 0.05) -> tuple[dict, pd.DataFrame]:
    """Firm-wide and per-trader VaR violations of ``var_column`` by ``next_net_pnl``.

    Out: (firm dict: ``var_n``, ``var_violations``, ``var_violation_rate``, ``kupiec_lr``,
    ``kupiec_p``; per-trader frame: ``trader_id`` + the same columns).
    """
    firm = var_backtest(rows["next_net_pnl"], rows[var_column], level)
    per = pd.DataFrame([{"trader_id": t, **var_backtest(g["next_net_pnl"], g[var_column], level)}
                        for t, g in rows.groupby("trader_id", sort=True)],
                       columns=["trader_id", *firm])
    return firm, per


def calibrate_champions(rows: pd.DataFrame, champions: dict, level: float) -> dict:
    """Add each champion's serving VaR calibration to its decision (``var_calibration``, in
    place: its conformal ``scale`` and the firm-wide tracked ``multiplier`` with its as-of
    date) and return the walk-forward violation figures of the champions' rows: ``raw`` (the
    models' VaR), ``conformal`` (times the per-trader scale), ``calibrated`` (times the
    tracked multiplier too: what is published), ``per_trader`` (violation rates raw and
    calibrated, Kupiec p), ``multiplier`` and ``config``.

    ``rows``: the evaluation's out-of-sample rows of every model (``Evaluation.rows``);
    ``champions``: trader id -> decision with ``chosen`` (the model family); ``level``: 0.05."""
    chosen = {t: d.get("chosen") for t, d in champions.items()}
    rows = rows[rows["model"] == rows["trader_id"].map(chosen)]
    cfg = VarCalibrationConfig(level=level)
    rows = rows.join(walk_forward_scales(rows, cfg))
    used = rows[rows["var_scope"] != "none"].copy()  # rows with a calibration set before them
    used["var_05_conformal"] = used["var_05_calibrated"]
    multiplier, state = tracked_multipliers(used, cfg)
    used["var_05_calibrated"] = used["var_05_conformal"] * multiplier
    for tid, entry in serving_scales(rows, cfg, traders=list(champions)).items():
        champions[tid]["var_calibration"] = {**entry, **state.to_dict()}
    raw, raw_per = violation_report(rows, "var_05", cfg.level)
    conformal, _ = violation_report(used, "var_05_conformal", cfg.level)
    cal, cal_per = violation_report(used, "var_05_calibrated", cfg.level)
    per = raw_per[["trader_id", "var_n", "var_violation_rate"]].merge(
        cal_per[["trader_id", "var_n", "var_violation_rate", "kupiec_p"]], on="trader_id",
        how="left", suffixes=("_raw", "_calibrated"))
    return {"raw": raw, "conformal": conformal, "calibrated": cal, "per_trader": per,
            "multiplier": state.to_dict(), "config": cfg.to_dict()}


def write_var_report(numbers: dict, out_dir: Path) -> Path:
    """``calibrate_champions``' figures as ``<out_dir>/var_calibration.json`` (atomically)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "var_calibration.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"raw": numbers["raw"], "conformal": numbers["conformal"],
                               "calibrated": numbers["calibrated"],
                               "multiplier": numbers["multiplier"], "config": numbers["config"],
                               "per_trader": numbers["per_trader"].to_dict(orient="records")},
                              indent=2, default=float))
    tmp.replace(path)
    return path
