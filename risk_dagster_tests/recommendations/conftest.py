"""Small synthetic inputs for the recommendation tests: a calm firm that each test perturbs.

Morning of Tuesday 2024-03-05 (XNYS); the features' latest date is the previous session, Monday
2024-03-04. Four traders; by default nobody trips a rule and the model is calm (p = 0.05).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from risk_dagster.core.calendar import sessions
from risk_dagster.recommendations import ModelInfo, RecommendationConfig, recommend, risk_scores

TODAY = dt.date(2024, 3, 5)
D = dt.date(2024, 3, 4)
EARLIER = dt.date(2024, 3, 1)
TRADERS = ["T0001", "T0002", "T0003", "T0004"]
CALM = {
    "net_pnl_d0": 200.0, "loss_streak": 0.0, "drawdown_21d": 300.0, "large_losses_5d": 0.0,
    "pnl_vol_21d": 800.0, "activity_ratio_21d": 1.0, "size_ratio_21d": 1.0,
    "days_since_large_loss": 30.0, "traded_d0": 1.0, "n_fills_z21": 0.1, "fee_rate_bps": 0.4,
}
FEATURE_NAMES = list(CALM)


@dataclass
class Inputs:
    """Mutable synthetic inputs; ``run`` scores and recommends them."""

    features: pd.DataFrame
    predictions: pd.DataFrame
    contributions: pd.DataFrame
    catalog: pd.DataFrame
    history: pd.DataFrame
    model_info: ModelInfo

    def set_feature(self, trader: str, name: str, value: float, date: dt.date = D) -> None:
        mask = (self.features["trader_id"] == trader) & (self.features["trade_date"] == date)
        self.features.loc[mask, name] = value

    def set_prediction(self, trader: str, **values: float) -> None:
        for k, v in values.items():
            self.predictions.loc[self.predictions["trader_id"] == trader, k] = v

    def scores(self, cfg: RecommendationConfig | None = None) -> pd.DataFrame:
        return risk_scores(self.features, self.predictions, self.contributions, self.catalog,
                           self.model_info, cfg)

    def run(self, cfg: RecommendationConfig | None = None, today: dt.date = TODAY):
        cfg = cfg or RecommendationConfig()
        recs, summary = recommend(self.scores(cfg), self.features, self.history, cfg, today=today)
        return recs.set_index("trader_id", drop=False), summary


def _history(traders: list[str], seed: int = 3) -> pd.DataFrame:
    """35 sessions up to D of calm, profitable days (Sharpe well above 0.5)."""
    days = sessions("XNYS", dt.date(2024, 1, 2), D)[-35:]
    rng = np.random.default_rng(seed)
    rows = [{"trade_date": d.date(), "trader_id": t, "net_pnl": float(300 + 400 * rng.standard_normal())}
            for t in traders for d in days]
    hist = pd.DataFrame(rows)
    # Make D's P&L agree with the features' net_pnl_d0.
    hist.loc[hist["trade_date"] == D, "net_pnl"] = CALM["net_pnl_d0"]
    return hist


def make_inputs() -> Inputs:
    rows = [{"trade_date": date, "trader_id": t, **CALM} for t in TRADERS for date in (EARLIER, D)]
    features = pd.DataFrame(rows)
    predictions = pd.DataFrame({"trade_date": D, "trader_id": TRADERS, "p_large_loss": 0.05,
                                "pred_pnl": 150.0, "var_05": -1000.0})
    contributions = pd.DataFrame([{"trade_date": D, "trader_id": t, **{n: 0.0 for n in FEATURE_NAMES},
                                   "bias": -2.0} for t in TRADERS])
    catalog = pd.DataFrame({
        "name": FEATURE_NAMES,
        "category": "test",
        "description": [n.replace("_", " ") for n in FEATURE_NAMES[:-2]]
        + ["fills vs 21-day usual (z)", "fee rate"],
        "window": 21,
        "unit": ["USD", "count", "USD", "count", "USD", "ratio", "ratio", "sessions", "flag",
                 "sd", "bps"],
    })
    catalog.loc[len(catalog)] = ["n_fills", "activity", "fills per day", 1, "count"]
    info = ModelInfo("pooled_lgbm", "v7", TODAY - dt.timedelta(days=10))
    return Inputs(features, predictions, contributions, catalog, _history(TRADERS), info)


@pytest.fixture
def inputs() -> Inputs:
    return make_inputs()
