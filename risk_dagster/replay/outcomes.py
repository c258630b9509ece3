"""What following the morning's recommendations would have done to each trader's P&L.

One row per (for_date, trader_id): the recommendation in force on ``for_date`` (level, size
multiplier, daily loss limit, VaR) and the session's actual net P&L (USD). Assumptions (shown on
the report, they make the "followed" figures an upper bound of what the desk would have kept):

- P&L scales with size: at size multiplier m the day's P&L is m x the actual P&L. Smaller
  orders get better fills and the trader's choices would have been different; neither is known.
- ``close-only`` and ``halt`` (m = 0): no new risk, so 0 P&L. The day's P&L in the data also
  holds positions carried from the day before; we take them as closed at the previous close
  (their overnight move is counted as avoided, which a real close at the open would not fully
  avoid).
- The daily loss limit is enforced intraday: the trader is stopped once the day's loss reaches
  it, so the day's loss is capped at the limit (no slippage past it). With end-of-day P&L only,
  a day that touched the limit and then recovered is not known to have been stopped: that also
  favours following.
- A trader without a row that day did not trade: 0 P&L with or without the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from risk_dagster.evaluation.metrics import var_backtest

NO_NEW_RISK = ("close-only", "halt")
ASSUMPTIONS = (
    "P&L scales with size: at size multiplier m the day's P&L is m x the actual P&L (an upper "
    "bound: smaller size does not change the trader's choices or fills in this model).",
    "close-only and halt take no new risk: 0 P&L that day; positions carried from the day "
    "before are taken as closed at the previous close.",
    "The daily loss limit is enforced intraday: the day's loss is capped at the published "
    "limit, with no slippage past it; a day that touched the limit and recovered is not known "
    "from end-of-day P&L, so it is not stopped (favours following).",
    "A trader without a P&L row on a session did not trade: 0 P&L either way.",
)


def followed_pnl(pnl, size_multiplier, loss_limit=None, level=None) -> np.ndarray:
    """P&L had the recommendation been followed (USD), per row.

    pnl: actual net P&L (USD, NaN = not traded -> 0); size_multiplier: 0..1; loss_limit: the
    daily loss limit (USD >= 0, NaN = none), or None to ignore limits; level: ladder level (a
    ``close-only``/``halt`` row is 0 whatever its multiplier).
    """
    pnl = np.nan_to_num(np.asarray(pnl, dtype=float), nan=0.0)
    m = np.asarray(size_multiplier, dtype=float)
    out = m * pnl
    if level is not None:
        out = np.where(np.isin(np.asarray(level, dtype=object), NO_NEW_RISK), 0.0, out)
    if loss_limit is not None:
        limit = np.asarray(loss_limit, dtype=float)
        out = np.where(np.isnan(limit), out, np.maximum(out, -limit))
    return out + 0.0  # -0.0 (0 x a loss) reads 0


def outcome_table(recs: pd.DataFrame, pnl: pd.DataFrame,
                  rules: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per (for_date, trader_id): the engine's recommendation, the actual P&L and the P&L of
    each way of running the desk.

    recs: the published recommendations (``for_date, trader_id, level, size_multiplier,
    daily_loss_limit_usd, var_05, model_family, model_version, score_source``); pnl:
    ``trade_date, trader_id, net_pnl`` (USD; the session's actual P&L); rules (optional): the
    rules baseline's recommendations for the same mornings (``for_date, trader_id, level,
    size_multiplier, daily_loss_limit_usd``).
    Out: the recommendation columns, ``actual_pnl`` (USD, 0 when not traded), ``traded``,
    ``engine_pnl``, ``rules_pnl`` (when given), ``nothing_pnl`` (= actual), ``limit_breached``
    (the actual loss went past the published limit), ``var_violated`` (actual < var_05).
    """
    keep = ["for_date", "trader_id", "level", "size_multiplier", "daily_loss_limit_usd",
            "var_05", "model_family", "model_version", "score_source"]
    out = recs[[c for c in keep if c in recs.columns]].copy()
    out["for_date"] = pd.to_datetime(out["for_date"]).dt.date
    day_pnl = pnl.rename(columns={"trade_date": "for_date", "net_pnl": "actual_pnl"})
    day_pnl = day_pnl.assign(for_date=pd.to_datetime(day_pnl["for_date"]).dt.date)
    out = out.merge(day_pnl[["for_date", "trader_id", "actual_pnl"]],
                    on=["for_date", "trader_id"], how="left")
    out["traded"] = out["actual_pnl"].notna()
    out["actual_pnl"] = out["actual_pnl"].fillna(0.0)
    out["engine_pnl"] = followed_pnl(out["actual_pnl"], out["size_multiplier"],
                                     out["daily_loss_limit_usd"], out["level"])
    if rules is not None:
        r = rules[["for_date", "trader_id", "level", "size_multiplier", "daily_loss_limit_usd"]]
        r = r.assign(for_date=pd.to_datetime(r["for_date"]).dt.date).rename(columns={
            "level": "rules_level", "size_multiplier": "rules_size_multiplier",
            "daily_loss_limit_usd": "rules_loss_limit_usd"})
        out = out.merge(r, on=["for_date", "trader_id"], how="left")
        out["rules_pnl"] = followed_pnl(out["actual_pnl"], out["rules_size_multiplier"].fillna(1.0),
                                        out["rules_loss_limit_usd"], out["rules_level"])
    out["nothing_pnl"] = out["actual_pnl"]
    out["limit_breached"] = out["traded"] & (out["actual_pnl"] < -out["daily_loss_limit_usd"])
    out["var_violated"] = out["traded"] & (out["actual_pnl"] < out["var_05"])
    return out.sort_values(["for_date", "trader_id"], ignore_index=True)


@dataclass(frozen=True)
class StrategySummary:
    """Firm-wide figures of one way of running the desk (USD unless said)."""

    name: str
    total_pnl: float
    max_drawdown: float  # largest fall of cumulative firm P&L from its running peak (>= 0)
    avoided_losses: float  # sum over losing trader-days of the loss not taken
    missed_gains: float  # sum over winning trader-days of the gain not made
    trader_days_halted: int  # halt or close-only (no new risk)
    trader_days_reduced: int  # 0 < size multiplier < 1
    worst_day: float  # firm P&L of its worst session

    def as_dict(self) -> dict:
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def equity(frame: pd.DataFrame, column: str) -> pd.Series:
    """Cumulative firm P&L (USD) by for_date of the per-trader ``column``."""
    return frame.groupby("for_date")[column].sum().sort_index().cumsum()


def max_drawdown(curve: pd.Series) -> float:
    """Largest fall from the running peak of ``curve`` (starting from 0), USD >= 0."""
    values = np.r_[0.0, curve.to_numpy(dtype=float)]
    return float(np.max(np.maximum.accumulate(values) - values))


def summarize(frame: pd.DataFrame, column: str, name: str, level_col: str | None = None,
              size_col: str | None = None) -> StrategySummary:
    """The figures of ``column`` (a P&L column of :func:`outcome_table`) against the actual."""
    diff = frame[column] - frame["actual_pnl"]
    losing, winning = frame["actual_pnl"] < 0, frame["actual_pnl"] > 0
    halted = frame[level_col].isin(NO_NEW_RISK).sum() if level_col else 0
    reduced = ((frame[size_col] > 0) & (frame[size_col] < 1)).sum() if size_col else 0
    daily = frame.groupby("for_date")[column].sum()
    return StrategySummary(
        name=name, total_pnl=float(frame[column].sum()),
        max_drawdown=max_drawdown(equity(frame, column)),
        avoided_losses=float(diff[losing].sum()) + 0.0,
        missed_gains=float(-diff[winning].sum()) + 0.0,
        trader_days_halted=int(halted), trader_days_reduced=int(reduced),
        worst_day=float(daily.min()) if len(daily) else 0.0)


def limit_figures(frame: pd.DataFrame, level: float = 0.05) -> dict:
    """How often the session's actual loss went past the published loss limit and below the
    published VaR (traded trader-days), firm-wide, with the Kupiec test of the VaR."""
    traded = frame[frame["traded"]]
    var = var_backtest(traded["actual_pnl"], traded["var_05"], level)
    return {"trader_days": int(len(traded)),
            "limit_breaches": int(traded["limit_breached"].sum()),
            "limit_breach_rate": float(traded["limit_breached"].mean()) if len(traded) else None,
            **var}


def per_trader_figures(frame: pd.DataFrame, level: float = 0.05) -> pd.DataFrame:
    """Per trader: P&L of each strategy, limit breaches and VaR violations (traded days)."""
    rows = []
    for tid, g in frame.groupby("trader_id", sort=True):
        traded = g[g["traded"]]
        var = var_backtest(traded["actual_pnl"], traded["var_05"], level)
        rows.append({"trader_id": tid, "sessions": len(g), "traded": len(traded),
                     "actual_pnl": g["actual_pnl"].sum(), "engine_pnl": g["engine_pnl"].sum(),
                     **({"rules_pnl": g["rules_pnl"].sum()} if "rules_pnl" in g else {}),
                     "days_no_new_risk": int(g["level"].isin(NO_NEW_RISK).sum()),
                     "limit_breaches": int(traded["limit_breached"].sum()),
                     "var_violation_rate": var["var_violation_rate"], "kupiec_p": var["kupiec_p"]})
    return pd.DataFrame(rows)
