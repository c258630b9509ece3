"""The risk desk's view of a morning: one row per trader, riskiest first, in desk units.

Pure tables built from the outputs of :func:`risk_scores` and :func:`recommend` (no Dagster);
the Dagster layer turns them into metadata tables. Money in whole USD, probabilities in percent,
reasons joined in plain words.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.core.desk_table import TRADER_COLUMN, DeskColumn
from risk_dagster.recommendations.config import LEVEL_RANK, LEVELS


# the columns both tables have, with one meaning
_P_LARGE_LOSS = DeskColumn("P(large loss) %", "float",
                           "calibrated chance the session is a large-loss day")
_RISK_SCORE = DeskColumn("risk score", "float", "0 to 100, 100 times P(large loss)")

RECOMMENDATION_COLUMNS: tuple[DeskColumn, ...] = (
    TRADER_COLUMN,
    DeskColumn("level", "string", "normal, warn, reduce, close-only or halt"),
    DeskColumn("size multiplier", "float", "share of the usual size allowed, 0 to 1"),
    DeskColumn("loss limit USD", "int", "daily loss limit, whole USD"),
    DeskColumn("position cap USD", "int", "largest position notional allowed, whole USD"),
    _P_LARGE_LOSS,
    _RISK_SCORE,
    DeskColumn("top reasons", "string", "hard-rule reasons first, then the model's"),
)
SCORE_COLUMNS: tuple[DeskColumn, ...] = (
    TRADER_COLUMN,
    _RISK_SCORE,
    _P_LARGE_LOSS,
    DeskColumn("expected P&L USD", "int", "expected net P&L, whole USD; empty on the rules baseline"),
    DeskColumn("VaR 5% USD", "int", "5% quantile of net P&L, whole USD"),
    DeskColumn("model", "string", "champion family and version, or the rules baseline"),
    DeskColumn("top reasons", "string", "the features pushing the risk up, in plain words"),
)


def _whole(values: pd.Series) -> pd.Series:
    """Whole USD, None where unknown (Python ints, not floats with NaN)."""
    return pd.Series([None if v is None or pd.isna(v) else int(round(float(v))) for v in values],
                     index=values.index, dtype=object)


def join_reasons(reasons: Any) -> str:
    """A list of reasons as one line ("a; b; c"); an empty list reads "no reason given"."""
    items = [str(r) for r in reasons] if isinstance(reasons, (list, tuple, np.ndarray)) else []
    return "; ".join(items) if items else "no reason given"


def recommendations_table(recs: pd.DataFrame) -> pd.DataFrame:
    """One row per trader (``RECOMMENDATION_COLUMNS``), strictest level first, then the highest
    risk score, then trader id. ``recs``: the output of :func:`recommend`."""
    order = recs.assign(_rank=recs["level"].map(LEVEL_RANK)).sort_values(
        ["_rank", "risk_score", "trader_id"], ascending=[False, False, True], kind="stable")
    return pd.DataFrame({
        "trader": order["trader_id"].astype(str),
        "level": order["level"].astype(str),
        "size multiplier": order["size_multiplier"].astype(float).round(2),
        "loss limit USD": _whole(order["daily_loss_limit_usd"]),
        "position cap USD": _whole(order["max_position_notional_usd"]),
        "P(large loss) %": (100 * order["p_large_loss"].astype(float)).round(1),
        "risk score": order["risk_score"].astype(float).round(1),
        "top reasons": order["reasons"].map(join_reasons),
    }).reset_index(drop=True)


def model_label(family: str, version: str, source: str) -> str:
    """"pooled_lgbm 20251231T..." or "rules baseline" when the score did not come from a model."""
    if source != "model" or family == "rules_baseline":
        return "rules baseline"
    return f"{family} {version}"


def scores_table(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per trader (``SCORE_COLUMNS``), highest risk score first. ``scores``: the output
    of :func:`risk_scores`."""
    order = scores.sort_values(["risk_score", "trader_id"], ascending=[False, True], kind="stable")
    return pd.DataFrame({
        "trader": order["trader_id"].astype(str),
        "risk score": order["risk_score"].astype(float).round(1),
        "P(large loss) %": (100 * order["p_large_loss"].astype(float)).round(1),
        "expected P&L USD": _whole(order["pred_pnl"]),
        "VaR 5% USD": _whole(order["var_05"]),
        "model": [model_label(f, v, s) for f, v, s in
                  zip(order["model_family"], order["model_version"], order["score_source"])],
        "top reasons": order["reasons"].map(join_reasons),
    }).reset_index(drop=True)


def level_counts(levels: Iterable[str]) -> dict[str, int]:
    """Traders per level, every level of the ladder in order (0 where none)."""
    values = list(levels)
    return {lvl: sum(v == lvl for v in values) for lvl in LEVELS}
