"""Test support: small canonical frames (no simulator needed) and the definitions under test."""

from __future__ import annotations

import datetime as dt
import functools
import re

import numpy as np
import pandas as pd

from risk_dagster.core.schemas import FILLS, TOTALS


def make_fills(days: list[dt.date], traders: list[str], per_day: int = 6, seed: int = 0,
               source: str = "test") -> pd.DataFrame:
    """Round trips of 100 shares (buy then sell) during the New York session."""
    rng = np.random.default_rng(seed)
    rows = []
    for day in days:
        for trader in traders:
            for i in range(per_day // 2):
                ts = pd.Timestamp(day).tz_localize("America/New_York") + pd.Timedelta(hours=10, minutes=10 * i)
                buy = 100 + rng.normal()
                sell = buy + rng.normal(0, 0.5)
                for j, (side, price, pnl) in enumerate([("B", buy, 0.0), ("S", sell, 100 * (sell - buy))]):
                    rows.append(dict(
                        trade_date=day, ts=(ts + pd.Timedelta(minutes=j)).tz_convert("UTC"),
                        trader_id=trader, symbol="AAA", side=side, short_sale=False, qty=100.0,
                        price=price, notional=100 * price, fees=0.5, liquidity="remove", route="ARCA",
                        order_id=f"{trader}-{day}-{i}-{j}", fill_id=f"{trader}-{day}-{i}-{j}-f",
                        realized_pnl=pnl, source=source))
    return FILLS.conform(pd.DataFrame(rows)) if rows else FILLS.empty()


def totals_from(fills: pd.DataFrame) -> pd.DataFrame:
    agg = fills.groupby(["trade_date", "trader_id"]).agg(
        orders=("order_id", "nunique"), fills=("fill_id", "size"), qty=("qty", "sum"),
        gross_pnl=("realized_pnl", "sum"), fees=("fees", "sum")).reset_index()
    agg["net_pnl"] = agg["gross_pnl"] - agg["fees"]
    agg["unrealized_delta"] = 0.0
    agg["total_delta"] = agg["net_pnl"]
    agg["derived"] = False
    agg["source"] = "test"
    return TOTALS.conform(agg)


@functools.cache
def date_assets() -> dict:
    """The date-partitioned assets by name, built on the default settings' date partitions
    (2024-01-02..2025-12-31, XNYS), as the code location builds them."""
    from risk_dagster.core.settings import Settings
    from risk_dagster.defs.assets import build_date_assets
    from risk_dagster.defs.partitions import build_date_partitions

    return build_date_assets(build_date_partitions(Settings()))
_FETCHING_TAG = re.compile(r"<(?:script|link|img|iframe|source|embed)\b[^>]*?\b(?:src|href)\s*=\s*"
                           r"[\"']?([^\"'\s>]+)", re.IGNORECASE)
PLOTLY_BUNDLE_HEAD = "* plotly.js v"  # the licence header that opens the inlined bundle


def fetched_resources(page: str) -> list[str]:
    """What an HTML page would load besides itself: the src/href of its script, link, img,
    iframe, source and embed tags (``data:`` URIs excluded). Empty for a self-contained page."""
    return [u for u in _FETCHING_TAG.findall(page) if not u.lower().startswith("data:")]
