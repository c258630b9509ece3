"""Hard rules: firm policies that override the model and can only make a level stricter.

Each rule gives, per trader, whether it fires, the minimum level it imposes, and a plain-word
reason with the numbers that made it fire. Inputs are USD amounts and session dates.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from risk_dagster.core.calendar import sessions
from risk_dagster.recommendations.config import LEVEL_RANK, RecommendationConfig
from risk_dagster.recommendations.reasons import usd
from risk_dagster.recommendations.scores import as_date

KILL_SWITCH = "kill_switch"
FIRM_LOSS = "firm_loss"
SHARPE_REVIEW = "sharpe_review"
LOSS_STREAK = "loss_streak"
STALE_MODEL = "stale_model"
STALE_DATA = "stale_data"


@dataclass(frozen=True)
class RuleHit:
    """A rule that fired for the traders where ``mask`` is True (index trader_id)."""

    rule: str
    min_level: str
    mask: pd.Series
    reason: pd.Series  # plain words, meaningful where mask is True


@dataclass(frozen=True)
class FirmLoss:
    """The firm's net P&L on the last session of history and its loss limit (USD)."""

    session: dt.date | None
    pnl_usd: float
    limit_usd: float

    @property
    def breached(self) -> bool:
        return self.session is not None and self.pnl_usd < -self.limit_usd


def _history_before(history: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """History rows strictly before ``today`` (the morning must not see its own session)."""
    h = history.assign(trade_date=history["trade_date"].map(as_date))
    return h[h["trade_date"] < today]


def firm_loss(history: pd.DataFrame, today: dt.date, firm_capital_usd: float,
              cfg: RecommendationConfig) -> FirmLoss:
    """Sum of every trader's net P&L on the last session before ``today`` (NaN = not traded)."""
    h = _history_before(history, today)
    limit = cfg.firm_loss_share * firm_capital_usd
    if h.empty:
        return FirmLoss(None, math.nan, limit)
    last = max(h["trade_date"])
    return FirmLoss(last, float(h.loc[h["trade_date"] == last, "net_pnl"].sum()), limit)


def rolling_sharpe(history: pd.DataFrame, today: dt.date, cfg: RecommendationConfig) -> pd.Series:
    """Annualised Sharpe of each trader's daily net P&L over the last ``sharpe_window_sessions``
    sessions of history before ``today`` (traded days only; NaN below ``sharpe_min_days``)."""
    h = _history_before(history, today)
    window = sorted(h["trade_date"].unique())[-cfg.sharpe_window_sessions:]
    pnl = h[h["trade_date"].isin(window)].dropna(subset=["net_pnl"])
    g = pnl.groupby("trader_id")["net_pnl"]
    mean, std, n = g.mean(), g.std(ddof=1), g.count()
    sharpe = mean / std.where(std > 0) * math.sqrt(cfg.periods_per_year)
    return sharpe.where(n >= cfg.sharpe_min_days).rename("sharpe_6w")


def data_lag_sessions(data_dates: pd.Series, today: dt.date, calendar: str) -> pd.Series:
    """Sessions strictly between each input date and ``today`` (0 = the input is the previous
    session, as it should be on the morning of ``today``)."""
    lags: dict[dt.date, int] = {}
    for d in {as_date(x) for x in data_dates}:
        start, end = d + dt.timedelta(days=1), today - dt.timedelta(days=1)
        lags[d] = len(sessions(calendar, start, end)) if start <= end else 0
    return data_dates.map(lambda x: lags[as_date(x)]).astype(int)


def kill_switch(recs: pd.DataFrame, cfg: RecommendationConfig) -> RuleHit:
    """Last-day net loss above kill_switch_share of capital or above kill_switch_usd -> halt."""
    threshold = recs["capital_usd"] * cfg.kill_switch_share
    if cfg.kill_switch_usd is not None:
        threshold = threshold.clip(upper=cfg.kill_switch_usd)
    loss = -recs["last_day_pnl"]
    mask = (loss > threshold).fillna(False).astype(bool)
    reason = pd.Series(
        [f"lost {usd(lo)} on the last session, above the {usd(th)} kill switch"
         for lo, th in zip(loss.fillna(0.0), threshold)], index=recs.index)
    return RuleHit(KILL_SWITCH, "halt", mask, reason)


def firm_loss_rule(recs: pd.DataFrame, firm: FirmLoss, cfg: RecommendationConfig) -> RuleHit:
    """Firm loss on the last session above firm_loss_share of firm capital -> everyone >= reduce."""
    mask = pd.Series(firm.breached, index=recs.index)
    text = (f"firm lost {usd(-firm.pnl_usd)} on {firm.session}, above the firm limit of "
            f"{usd(firm.limit_usd)}, which is {cfg.firm_loss_share:.0%} of firm capital"
            if firm.breached else "")
    return RuleHit(FIRM_LOSS, "reduce", mask, pd.Series(text, index=recs.index))


def sharpe_rule(recs: pd.DataFrame, cfg: RecommendationConfig) -> RuleHit:
    """6-week annualised Sharpe below sharpe_min -> review flag, at least warn."""
    mask = (recs["sharpe_6w"] < cfg.sharpe_min).fillna(False).astype(bool)
    reason = recs["sharpe_6w"].map(
        lambda s: f"6-week Sharpe ratio of {s:.2f}, below the {cfg.sharpe_min:g} minimum: review")
    return RuleHit(SHARPE_REVIEW, "warn", mask, reason)


def loss_streak_rule(recs: pd.DataFrame, cfg: RecommendationConfig) -> RuleHit:
    """loss_streak_reduce or more losing traded days in a row -> at least reduce."""
    mask = (recs["loss_streak"] >= cfg.loss_streak_reduce).fillna(False).astype(bool)
    reason = recs["loss_streak"].map(
        lambda k: f"{k:.0f} losing days in a row, at or past the limit of {cfg.loss_streak_reduce}")
    return RuleHit(LOSS_STREAK, "reduce", mask, reason)


def stale_model_rule(recs: pd.DataFrame, cfg: RecommendationConfig) -> RuleHit:
    """A model older than max_model_age_days: scored by the rules baseline (no level change)."""
    mask = (recs["model_age_days"] > cfg.max_model_age_days).astype(bool)
    reason = recs["model_age_days"].map(
        lambda a: f"model is {a} days old, past the {cfg.max_model_age_days}-day limit: "
                  "scored by the rules baseline")
    return RuleHit(STALE_MODEL, "normal", mask, reason)


def stale_data_rule(recs: pd.DataFrame, cfg: RecommendationConfig) -> RuleHit:
    """Inputs more than max_data_lag_sessions behind: rules baseline and at least
    stale_data_level (the last day's loss is unknown, so the kill switch cannot see it)."""
    mask = (recs["data_lag_sessions"] > cfg.max_data_lag_sessions).astype(bool)
    reason = pd.Series(
        [f"latest data is from {d}, {lag} sessions missing, more than the "
         f"{cfg.max_data_lag_sessions} allowed: scored by the rules baseline"
         for d, lag in zip(recs["trade_date"], recs["data_lag_sessions"])], index=recs.index)
    return RuleHit(STALE_DATA, cfg.stale_data_level, mask, reason)


def required_level(hits: list[RuleHit], index: pd.Index) -> pd.Series:
    """The strictest minimum level any fired rule imposes on each trader (rank 0 = normal)."""
    rank = pd.Series(0, index=index, dtype=int)
    for hit in hits:
        rank = rank.where(~hit.mask, np.maximum(rank, LEVEL_RANK[hit.min_level]))
    return rank
