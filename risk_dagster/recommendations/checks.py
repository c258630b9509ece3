"""Publish checks on the recommendations: pure functions, later wrapped as blocking asset checks.

Each check recomputes what it guards from the published rows and the config (not from the code
that produced them), so a bug or a manual edit in the recommendation step is caught.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from risk_dagster.core.settings import DEFAULT_CALENDAR
from risk_dagster.recommendations.config import LEVEL_RANK, RecommendationConfig
from risk_dagster.recommendations.rules import data_lag_sessions
from risk_dagster.recommendations.scores import SOURCE_BASELINE, as_date

_SHOW = 5  # trader ids listed in a failure detail


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one publish check; ``detail`` says what failed (or what was checked)."""

    name: str
    passed: bool
    detail: str


def _result(name: str, problems: list[str], ok_detail: str) -> CheckResult:
    if problems:
        shown = "; ".join(problems[:_SHOW]) + (f"; ... {len(problems) - _SHOW} more"
                                               if len(problems) > _SHOW else "")
        return CheckResult(name, False, shown)
    return CheckResult(name, True, ok_detail)


def check_every_active_trader_once(recs: pd.DataFrame, active_traders: Iterable[str]) -> CheckResult:
    """Every active trader has exactly one row, and no one else has a row."""
    active = set(active_traders)
    counts = recs["trader_id"].value_counts()
    problems = [f"missing {t}" for t in sorted(active - set(counts.index))]
    problems += [f"{t} appears {n} times" for t, n in counts.items() if n > 1]
    problems += [f"{t} is not active" for t in sorted(set(counts.index) - active)]
    return _result("check_every_active_trader_once", problems, f"{len(active)} traders, one row each")


def _out_of_range(recs: pd.DataFrame, col: str, lo: float, hi: float | None) -> list[str]:
    v = pd.to_numeric(recs[col], errors="coerce")
    bad = v.isna() | (v < lo) | ((v > hi) if hi is not None else False)
    return [f"{t}: {col}={x}" for t, x in zip(recs.loc[bad, "trader_id"], recs.loc[bad, col])]


def check_values_in_range(recs: pd.DataFrame, cfg: RecommendationConfig) -> CheckResult:
    """Probability in 0..1, score in 0..100, multiplier in 0..1 and equal to its level's, limits
    >= 0 (USD), known levels; no missing values among them."""
    problems = [f"{t}: unknown level {lvl!r}"
                for t, lvl in zip(recs["trader_id"], recs["level"]) if lvl not in LEVEL_RANK]
    for col, lo, hi in (("p_large_loss", 0.0, 1.0), ("risk_score", 0.0, 100.0),
                        ("size_multiplier", 0.0, 1.0), ("daily_loss_limit_usd", 0.0, None),
                        ("max_position_notional_usd", 0.0, None)):
        problems += _out_of_range(recs, col, lo, hi)
    expected = recs["level"].map(cfg.size_multiplier)
    wrong = expected.notna() & (recs["size_multiplier"] != expected)
    problems += [f"{t}: multiplier {m} for level {lvl}" for t, m, lvl in
                 zip(recs.loc[wrong, "trader_id"], recs.loc[wrong, "size_multiplier"],
                     recs.loc[wrong, "level"])]
    return _result("check_values_in_range", problems, f"{len(recs)} rows in range")


def check_hard_limits_enforced(recs: pd.DataFrame, cfg: RecommendationConfig) -> CheckResult:
    """No trader beyond a hard limit is left looser than the rule demands: kill switch -> halt;
    firm loss and loss streak -> at least reduce; Sharpe below the minimum -> at least warn."""
    rank = recs["level"].map(LEVEL_RANK).fillna(-1)
    capital = recs["trader_id"].map(cfg.capital_for)
    threshold = capital * cfg.kill_switch_share
    if cfg.kill_switch_usd is not None:
        threshold = threshold.clip(upper=cfg.kill_switch_usd)
    demands = (
        ("kill switch", -recs["last_day_pnl"] > threshold, "halt"),
        ("firm loss", recs["firm_loss_breached"].astype(bool), "reduce"),
        ("loss streak", recs["loss_streak"] >= cfg.loss_streak_reduce, "reduce"),
        ("6-week Sharpe", recs["sharpe_6w"] < cfg.sharpe_min, "warn"),
    )
    problems = []
    for rule, fired, level in demands:
        bad = fired.fillna(False).astype(bool) & (rank < LEVEL_RANK[level])
        problems += [f"{t}: {rule} needs {level}, got {lvl}"
                     for t, lvl in zip(recs.loc[bad, "trader_id"], recs.loc[bad, "level"])]
    return _result("check_hard_limits_enforced", problems, "every hard rule is reflected")


def check_model_freshness(recs: pd.DataFrame, cfg: RecommendationConfig, today: dt.date) -> CheckResult:
    """A trader scored by a model older than max_model_age_days must use the rules baseline."""
    problems = []
    for t, trained, source in zip(recs["trader_id"], recs["model_trained_on"], recs["score_source"]):
        if trained is None or pd.isna(trained):
            problems.append(f"{t}: no model training date")
            continue
        age = (today - as_date(trained)).days
        if age > cfg.max_model_age_days and source != SOURCE_BASELINE:
            problems.append(f"{t}: model {age} days old (limit {cfg.max_model_age_days}) "
                            f"but scored by {source}")
    return _result("check_model_freshness", problems, "no stale model in use")


def check_data_freshness(recs: pd.DataFrame, cfg: RecommendationConfig, today: dt.date,
                         calendar: str) -> CheckResult:
    """Inputs at most block_publish_data_lag_sessions behind; beyond max_data_lag_sessions the
    trader must be on the rules baseline and at least at stale_data_level."""
    lag = data_lag_sessions(recs["trade_date"], today, calendar)
    problems = [f"{t}: data {n} sessions old (publish limit {cfg.block_publish_data_lag_sessions})"
                for t, n in zip(recs["trader_id"], lag) if n > cfg.block_publish_data_lag_sessions]
    stale = lag > cfg.max_data_lag_sessions
    loose = (recs["score_source"] != SOURCE_BASELINE) | (
        recs["level"].map(LEVEL_RANK).fillna(-1) < LEVEL_RANK[cfg.stale_data_level])
    problems += [f"{t}: data {n} sessions old but not on the stale-data fallback"
                 for t, n in zip(recs.loc[stale & loose, "trader_id"], lag[stale & loose])]
    return _result("check_data_freshness", problems, f"max data lag {int(lag.max()) if len(lag) else 0} sessions")


def publish_checks(recs: pd.DataFrame, active_traders: Iterable[str], cfg: RecommendationConfig,
                   *, today: dt.date, calendar: str = DEFAULT_CALENDAR) -> list[CheckResult]:
    """All publish checks on the output of :func:`recommend` for the morning of ``today``."""
    return [
        check_every_active_trader_once(recs, active_traders),
        check_values_in_range(recs, cfg),
        check_hard_limits_enforced(recs, cfg),
        check_model_freshness(recs, cfg, today),
        check_data_freshness(recs, cfg, today, calendar),
    ]
