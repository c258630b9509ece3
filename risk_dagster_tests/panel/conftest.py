"""Fixtures for the panel tests: generated canonical fills and a temporary lake."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from risk_dagster.core.lake import Lake
from risk_dagster.core.schemas import FILLS, TOTALS
from risk_dagster_tests.factories import first_sessions, make_fills, trader_ids


@pytest.fixture
def small_fills() -> pd.DataFrame:
    """8 traders x 6 sessions x 40 fills from 2024-01-02 (XNYS), with some same-instant fills so
    that tie-breaking by fill_id is exercised."""
    fills = make_fills(first_sessions("XNYS", dt.date(2024, 1, 2), 6), trader_ids(8), 40, seed=3)
    # Round a third of the timestamps to the second: ties within orders and across traders.
    third = fills.index % 3 == 0
    fills.loc[third, "ts"] = fills.loc[third, "ts"].dt.floor("s")
    return fills


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake(tmp_path / "lake")


def write_fills(lake: Lake, fills: pd.DataFrame) -> None:
    lake.write_many("raw_fills", "date", FILLS.to_arrow(fills), "trade_date")


def write_totals(lake: Lake, totals: pd.DataFrame) -> None:
    lake.write_many("raw_totals", "date", TOTALS.to_arrow(totals), "trade_date")
