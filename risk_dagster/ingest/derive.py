"""Daily totals derived from fills, for sources that have none (a 24/7 crypto venue).

Gross P&L is the sum of the source's realized P&L per fill. Where a source does not report it,
realized P&L is estimated with the average-cost method per trader and symbol, over the fills of
the frame only: positions carried from before the first fill are unknown (taken as flat), so a
fill that reduces an older position is counted as opening a new one. Unrealized P&L is unknown and
set to 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from risk_dagster.core.schemas import TOTALS


def derive_totals(fills: pd.DataFrame) -> pd.DataFrame:
    """TOTALS rows (one per trade_date x trader_id x source) from canonical FILLS rows.

    orders = distinct order ids, fills = rows, qty = sum (shares/tokens), gross_pnl = sum of
    realized P&L (USD; average-cost estimate where the source gives none), fees (USD), net_pnl =
    gross - fees, unrealized_delta = 0 (unknown), total_delta = net_pnl, derived = True.
    """
    if fills.empty:
        return TOTALS.empty()
    realized = fills["realized_pnl"].astype(float)
    if realized.isna().any():
        realized = realized.fillna(pd.Series(average_cost_pnl(fills), index=fills.index))
    frame = fills.assign(gross_pnl=realized)
    out = frame.groupby(["trade_date", "trader_id", "source"], as_index=False, sort=True).agg(
        orders=("order_id", "nunique"), fills=("fill_id", "size"), qty=("qty", "sum"),
        gross_pnl=("gross_pnl", "sum"), fees=("fees", "sum"))
    out["net_pnl"] = out["gross_pnl"] - out["fees"]
    out["unrealized_delta"] = 0.0
    out["total_delta"] = out["net_pnl"]
    out["derived"] = True
    return TOTALS.conform(out)


def average_cost_pnl(fills: pd.DataFrame) -> np.ndarray:
    """Realized P&L of each fill (USD, before fees) by the average-cost method.

    Per trader and symbol in time order (file order breaks ties): buys and sells that grow a
    position move its average price; those that shrink it realize (price - average) x closed qty
    x multiplier (a future's point value; sign flipped for shorts); a fill through zero closes the position and opens the rest at its
    price. The order must be sequential, so this is one pass over plain lists (about a second per
    million fills), used only for sources without realized P&L.
    """
    n = len(fills)
    group = fills.groupby(["trader_id", "symbol"], sort=False).ngroup().to_numpy()
    ts = fills["ts"].to_numpy()
    order = np.lexsort((np.arange(n), ts, group))
    qty = fills["qty"].to_numpy(float)
    signed = np.where(fills["side"].to_numpy() == "B", qty, -qty)[order].tolist()
    price = fills["price"].to_numpy(float)[order].tolist()
    groups = group[order].tolist()
    pnl = [0.0] * n
    prev, pos, avg = -1, 0.0, 0.0
    for k in range(n):
        if groups[k] != prev:
            prev, pos, avg = groups[k], 0.0, 0.0
        q, p = signed[k], price[k]
        if pos == 0.0 or (pos > 0) == (q > 0):
            avg = (avg * abs(pos) + p * abs(q)) / (abs(pos) + abs(q))
            pos += q
            continue
        closed = min(abs(q), abs(pos))
        pnl[k] = closed * (p - avg) * (1.0 if pos > 0 else -1.0)
        before, pos = pos, pos + q
        if abs(pos) <= 1e-12 * max(abs(before), 1.0):
            pos, avg = 0.0, 0.0
        elif (pos > 0) != (before > 0):
            avg = p
    out = np.empty(n)
    out[order] = pnl
    if "multiplier" in fills.columns:
        out *= fills["multiplier"].to_numpy(float)
    return out
