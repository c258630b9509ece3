"""The rules baseline's recommendations for a morning: the same ladder, hard rules and limits as
the engine's, with every trader scored by the transparent rules (no model)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from risk_dagster.recommendations import ModelInfo, RecommendationConfig, recommend, risk_scores


def rules_recommendations(features: pd.DataFrame, pnl_history: pd.DataFrame,
                          cfg: RecommendationConfig, *, day: dt.date, today: dt.date,
                          calendar: str) -> pd.DataFrame:
    """Recommendations for ``today`` from the rules baseline alone.

    features: each trader's feature row on ``day`` (the close the morning is advised from);
    pnl_history: ``trade_date, trader_id, net_pnl`` (USD) of the last sessions up to ``day``.
    Out: the RECOMMENDATIONS columns (``score_source`` = ``rules_baseline`` on every row).
    """
    empty = pd.DataFrame({"trader_id": pd.Series(dtype=str),
                          **{c: pd.Series(dtype=float) for c in ("p_large_loss", "pred_pnl",
                                                                  "var_05")}})
    info = {"*": ModelInfo("rules_baseline", "builtin", day)}
    scores = risk_scores(features, empty, pd.DataFrame({"trader_id": pd.Series(dtype=str)}),
                         None, info, cfg)
    recs, _ = recommend(scores, features, pnl_history, cfg, today=today, calendar=calendar)
    return recs
