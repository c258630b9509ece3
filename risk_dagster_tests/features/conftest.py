"""Panel fixtures for the feature tests: a synthetic panel and a hand-made one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_dagster_tests.factories import AGGREGATES, make_panel


def hand_panel(pnl: list[float | None], n_fills: list[float] | None = None,
               trader_id: str = "T0001", start: str = "2024-03-01") -> pd.DataFrame:
    """One trader, one row per business day; ``None`` P&L marks a non-traded roster day."""
    n = len(pnl)
    dates = pd.bdate_range(start, periods=n).date
    traded = np.array([p is not None for p in pnl])
    frame = pd.DataFrame({"trade_date": dates, "trader_id": trader_id, "traded": traded})
    for col in AGGREGATES:
        frame[col] = 1.0
    frame["net_pnl"] = [np.nan if p is None else float(p) for p in pnl]
    frame["gross_pnl"] = frame["net_pnl"] + 1.0
    frame["intraday_max_drawdown"] = frame["net_pnl"].abs()
    frame["n_fills"] = 10.0 if n_fills is None else n_fills
    frame.loc[~traded, AGGREGATES] = np.nan
    frame["unrealized_delta"] = 0.0
    frame["total_pnl"] = frame["net_pnl"]
    return frame


@pytest.fixture(scope="session")
def synthetic_panel() -> pd.DataFrame:
    return make_panel(n_traders=6, n_sessions=100, seed=5)
