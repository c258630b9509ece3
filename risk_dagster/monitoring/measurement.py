"""Measure the drift alarm over trader-weeks: false-alarm rate and detection delay.

A bench runs ``scan_drift`` on a features frame (each trader's reference = its last
``cfg.reference_rows`` rows up to ``reference_end`` after its first ``cfg.warmup_rows``,
calibrated and fitted once; then one check every ``check_every`` rows after it), then
- ``false_alarm_rate`` on a stationary firm: share of trader-weeks (ISO weeks) with at least one
  alarm — the target is <= 5%;
- ``detection_delay`` after a change injected at ``change_date``: per trader, the number of the
  trader's sessions from the change (1 = the change day itself) to the first alarm — the target
  is <= 5 sessions for >= 90% of affected traders.
Checks must run daily (``check_every=1``) for a 5-session target: a weekly check sees between 1
and 5 changed rows, too few for any window test.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from risk_dagster.monitoring.config import MonitoringConfig
from risk_dagster.monitoring.drift import (check_rows, drift_scores, fit_reference,
                                           reference_window)

SCAN_COLUMNS = ["trader_id", "check_date", "week", "drifted", "score", "reason"]


def _features_for(features: list[str] | dict[str, list[str]], trader: str) -> list[str]:
    return features[trader] if isinstance(features, dict) else list(features)


def _trader_checks(rows: pd.DataFrame, feats: list[str], reference_end: dt.date,
                   cfg: MonitoringConfig, engine: str, check_every: int,
                   first_check: dt.date | None, last_check: dt.date | None,
                   windows: dict[str, int] | None) -> list[dict]:
    ref = reference_window(rows, reference_end, cfg, windows)
    after = rows[rows["trade_date"] > reference_end].reset_index(drop=True)
    if len(ref) < cfg.min_reference_sessions or after.empty:  # not monitored: no checks at all
        return []
    calibration, baseline = fit_reference(ref, after, feats, cfg)
    ref_rows, after_rows = check_rows(ref, feats, cfg), check_rows(after, feats, cfg)
    out = []
    for end in range(min(cfg.current_windows + cfg.shift_windows) - 1, len(after), check_every):
        day = after["trade_date"].iloc[end]
        if (first_check and day < first_check) or (last_check and day > last_check):
            continue
        res = drift_scores(ref_rows, after_rows.rows(0, end + 1), feats, cfg,
                           calibration=calibration, baseline=baseline, engine=engine)
        iso = pd.Timestamp(day).isocalendar()
        out.append({"trader_id": rows["trader_id"].iloc[0], "check_date": day,
                    "week": f"{iso.year}-W{iso.week:02d}", "drifted": res.drifted,
                    "score": res.score, "reason": res.reason})
    return out


def scan_drift(frame: pd.DataFrame, features: list[str] | dict[str, list[str]],
               reference_end: dt.date, cfg: MonitoringConfig | None = None, *,
               engine: str = "scipy", check_every: int = 1, first_check: dt.date | None = None,
               last_check: dt.date | None = None,
               windows: dict[str, int] | None = None) -> pd.DataFrame:
    """One drift check per trader every ``check_every`` of its rows after ``reference_end``.

    frame: features frame (``trade_date`` as date, ``trader_id``, features, optional
    ``p_large_loss``); features: the tested names, or per-trader lists (champion features);
    windows: rows each feature needs to be full (see ``drift.reference_window``).
    Out: columns ``SCAN_COLUMNS``, one row per check (``week`` is the ISO week of the check).
    """
    cfg = cfg or MonitoringConfig()
    frame = frame.sort_values(["trader_id", "trade_date"], kind="stable")
    out = []
    for trader, rows in frame.groupby("trader_id", sort=True):
        out += _trader_checks(rows, _features_for(features, trader), reference_end, cfg, engine,
                              check_every, first_check, last_check, windows)
    return pd.DataFrame(out, columns=SCAN_COLUMNS)


def false_alarm_rate(scan: pd.DataFrame) -> dict:
    """Share of trader-weeks with >= 1 alarm in a ``scan_drift`` result (on a stationary firm
    every alarm is false). Out: n_trader_weeks, n_alarm_weeks, rate (fraction), per-check rate."""
    weeks = scan.groupby(["trader_id", "week"])["drifted"].any()
    n = int(len(weeks))
    return {"n_trader_weeks": n, "n_alarm_weeks": int(weeks.sum()),
            "rate": float(weeks.mean()) if n else math.nan,
            "check_rate": float(scan["drifted"].mean()) if len(scan) else math.nan}


def detection_delay(scan: pd.DataFrame, frame: pd.DataFrame, change_date: dt.date,
                    affected: list[str] | None = None, within: int = 5) -> dict:
    """Sessions from ``change_date`` to the first alarm on or after it, per affected trader.

    Delay counts the trader's own sessions: 1 when the alarm is on the change day. A trader
    with no alarm has delay NaN (not detected). Out: ``per_trader`` frame (trader_id,
    detection_date, delay_sessions), n_affected, detected_within (fraction with delay <=
    ``within``), median_delay (sessions, detected traders only).
    """
    traders = sorted(affected) if affected is not None else sorted(frame["trader_id"].unique())
    rows = []
    for t in traders:
        days = np.sort(frame.loc[(frame["trader_id"] == t) & (frame["trade_date"] >= change_date),
                                 "trade_date"].unique())
        hits = scan[(scan["trader_id"] == t) & scan["drifted"] & (scan["check_date"] >= change_date)]
        first = hits["check_date"].min() if len(hits) else None
        delay = int(np.searchsorted(days, first) + 1) if first is not None else math.nan
        rows.append({"trader_id": t, "detection_date": first, "delay_sessions": delay})
    per = pd.DataFrame(rows, columns=["trader_id", "detection_date", "delay_sessions"])
    delays = per["delay_sessions"]
    return {"per_trader": per, "n_affected": len(per),
            "detected_within": float((delays <= within).mean()) if len(per) else math.nan,
            "median_delay": float(delays.median()) if delays.notna().any() else math.nan}
