"""Trade recommendations: the model's level on the ladder, raised by the hard rules, with limits.

The model proposes a level from its calibrated probability (``cfg`` bands); every hard rule
(kill switch, firm loss, 6-week Sharpe review, loss streak, stale data) imposes a minimum level,
and the final level is the strictest of them, so a rule can never loosen the model. A stale model
or stale data replaces the model's numbers by the rules baseline first, and says so.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.core.settings import DEFAULT_CALENDAR
from risk_dagster.recommendations import rules
from risk_dagster.recommendations.config import LEVEL_RANK, LEVELS, RecommendationConfig
from risk_dagster.recommendations.schema import RECOMMENDATIONS
from risk_dagster.recommendations.scores import (
    N_REASONS, SOURCE_BASELINE, as_date, latest_rows, rules_baseline, score_from_probability,
)
from risk_dagster.recommendations.reasons import top_reasons

OUTPUT_COLUMNS = tuple(RECOMMENDATIONS.names)


def _fall_back(recs: pd.DataFrame, feats: pd.DataFrame, stale: pd.Series,
               cfg: RecommendationConfig) -> pd.DataFrame:
    """Replace the model's numbers and reasons by the rules baseline where ``stale``."""
    if not stale.any():
        return recs
    recs = recs.copy()
    base, contrib = rules_baseline(feats.loc[stale], cfg.baseline)
    for col in ("p_large_loss", "pred_pnl", "var_05"):
        recs.loc[stale, col] = base[col]
    recs.loc[stale, "risk_score"] = score_from_probability(base["p_large_loss"])
    recs.loc[stale, "score_source"] = SOURCE_BASELINE
    pairs = [top_reasons(contrib.loc[t].to_dict(), feats.loc[t].to_dict(), None, N_REASONS)
             for t in base.index]
    recs.loc[stale, "reason_features"] = pd.Series([[k for k, _ in p] for p in pairs],
                                                   index=base.index, dtype=object)
    recs.loc[stale, "reasons"] = pd.Series([[r for _, r in p] for p in pairs],
                                           index=base.index, dtype=object)
    return recs


def _loss_limit(recs: pd.DataFrame, cfg: RecommendationConfig) -> pd.Series:
    """clip(|var_05| x multiple, floor share, cap share of capital) x the level's factor (USD)."""
    cap = recs["capital_usd"] * cfg.loss_limit_cap_share
    floor = recs["capital_usd"] * cfg.loss_limit_floor_share
    from_var = (recs["var_05"].abs() * cfg.loss_limit_var_multiple).clip(lower=floor, upper=cap)
    return from_var.fillna(cap) * recs["level"].map(cfg.loss_limit_factor)


def capital(trader_ids: pd.Index, cfg: RecommendationConfig,
            balances: pd.Series | None = None) -> pd.DataFrame:
    """``capital_usd`` and ``capital_source`` per trader: the configured ``capital_by_trader``,
    else the account's latest End Balance (``balances``: trader_id -> USD, > 0, known at the last
    close), else ``default_capital_usd``."""
    known = balances.dropna() if balances is not None else pd.Series(dtype=float)
    known = known[known > 0]
    rows = []
    for t in trader_ids:
        if t in cfg.capital_by_trader:
            rows.append((cfg.capital_for(t), "configured"))
        elif t in known.index:
            rows.append((float(known[t]), "end_balance"))
        else:
            rows.append((float(cfg.default_capital_usd), "default"))
    return pd.DataFrame(rows, index=trader_ids, columns=["capital_usd", "capital_source"])


def _attach_inputs(recs: pd.DataFrame, feats: pd.DataFrame, history: pd.DataFrame,
                   cfg: RecommendationConfig, today: dt.date, calendar: str,
                   balances: pd.Series | None) -> pd.DataFrame:
    recs = recs.copy()
    recs["for_date"] = today
    recs = recs.join(capital(recs.index, cfg, balances))
    recs["model_age_days"] = [(today - as_date(d)).days for d in recs["model_trained_on"]]
    recs["data_lag_sessions"] = rules.data_lag_sessions(recs["trade_date"], today, calendar)
    recs["last_day_pnl"] = feats["net_pnl_d0"].astype(float)
    recs["loss_streak"] = feats["loss_streak"].astype(float)
    recs["sharpe_6w"] = rules.rolling_sharpe(history, today, cfg).reindex(recs.index)
    return recs


def recommend(scores: pd.DataFrame, features: pd.DataFrame, history: pd.DataFrame,
              cfg: RecommendationConfig, *, today: dt.date,
              calendar: str = DEFAULT_CALENDAR,
              balances: pd.Series | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Recommendations for the morning of ``today`` and the firm summary.

    In: ``scores`` from :func:`risk_scores` (one row per trader), ``features`` (trader_features;
    each trader's latest row is used), ``history`` (trade_date, trader_id, net_pnl USD: recent
    daily net P&L, NaN on days not traded; at least 6 weeks for the Sharpe rule), ``cfg``,
    ``today`` (the session being advised) and the ``calendar`` code; ``balances`` (trader_id ->
    USD), each account's latest End Balance known at the last close, sets the capital of the
    accounts without a configured one (see :func:`capital`; the row's ``capital_source`` says
    which was used, ``default`` when neither is known).
    Out: one row per trader with ``OUTPUT_COLUMNS`` (level on the ladder, size multiplier 0..1,
    daily loss limit and max position notional in USD, rule hits, reasons: rule reasons first,
    then the model's), and a JSON-safe firm summary (see :func:`firm_summary`).
    """
    recs = scores.set_index("trader_id")
    feats = latest_rows(features).reindex(recs.index)
    recs = _attach_inputs(recs, feats, history, cfg, today, calendar, balances)
    stale_hits = [rules.stale_model_rule(recs, cfg), rules.stale_data_rule(recs, cfg)]
    recs = _fall_back(recs, feats, stale_hits[0].mask | stale_hits[1].mask, cfg)
    recs["model_level"] = recs["p_large_loss"].map(cfg.level_for_probability)

    firm_capital = (cfg.firm_capital_usd if cfg.firm_capital_usd is not None
                    else float(recs["capital_usd"].sum()))
    firm = rules.firm_loss(history, today, firm_capital, cfg)
    hits = [rules.kill_switch(recs, cfg), rules.firm_loss_rule(recs, firm, cfg),
            rules.sharpe_rule(recs, cfg), rules.loss_streak_rule(recs, cfg), *stale_hits]
    rank = np.maximum(recs["model_level"].map(LEVEL_RANK), rules.required_level(hits, recs.index))
    recs["level"] = rank.map(lambda r: LEVELS[r])
    recs["review"] = hits[2].mask
    recs["firm_loss_breached"] = hits[1].mask
    recs["rule_hits"] = [[h.rule for h in hits if h.mask[t]] for t in recs.index]
    recs["reasons"] = [[h.reason[t] for h in hits if h.mask[t]] + list(model_reasons)
                       for t, model_reasons in zip(recs.index, recs["reasons"])]
    recs["size_multiplier"] = recs["level"].map(cfg.size_multiplier).astype(float)
    recs["daily_loss_limit_usd"] = _loss_limit(recs, cfg)
    recs["max_position_notional_usd"] = (
        recs["capital_usd"] * cfg.max_position_leverage * recs["size_multiplier"])
    out = recs.reset_index()[list(OUTPUT_COLUMNS)]
    return out, firm_summary(out, firm, today)


def firm_summary(recs: pd.DataFrame, firm: rules.FirmLoss, today: dt.date) -> dict[str, Any]:
    """Counts per level, the firm's P&L on the last session, and who is halted and why."""
    halted = recs[recs["level"] == "halt"]
    pnl = None if math.isnan(firm.pnl_usd) else round(firm.pnl_usd, 2)
    return {
        "for_date": today.isoformat(),
        "last_session": firm.session.isoformat() if firm.session else None,
        "firm_pnl_usd": pnl,
        "firm_loss_limit_usd": round(firm.limit_usd, 2),
        "firm_loss_breached": bool(firm.breached),
        "n_traders": int(len(recs)),
        "counts": {lvl: int((recs["level"] == lvl).sum()) for lvl in LEVELS},
        "n_review": int(recs["review"].sum()),
        "n_rules_baseline": int((recs["score_source"] == SOURCE_BASELINE).sum()),
        "halted": [{"trader_id": t, "rule_hits": list(h), "reasons": list(r)}
                   for t, h, r in zip(halted["trader_id"], halted["rule_hits"], halted["reasons"])],
    }
