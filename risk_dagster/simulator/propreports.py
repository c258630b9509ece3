"""Write a batch as PropReports-format CSV exports (one fills file, one totals file), so the
PropReports parsers can be tested on a round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from risk_dagster.core.calendar import calendar_timezone
from risk_dagster.simulator.config import SimBatch
from risk_dagster.simulator.fees import FEE_COLUMNS, fee_components

FILLS_HEADER = ["Date/Time", "Account", "B/S", "Qty", "Symbol", "Price", "Route", "Liq",
                *FEE_COLUMNS, "Order Id", "Fill Id", "Currency", "ISIN", "CUSIP", "Status",
                "PropReports Id"]
TOTALS_HEADER = ["Date", "Account", "Type", "Orders", "Fills", "Qty", "Gross", *FEE_COLUMNS,
                 "Net", "Unrealized Δ", "Total Δ"]


def _fee_frame(fills: pd.DataFrame) -> pd.DataFrame:
    comps = fee_components(fills["qty"].to_numpy(), fills["notional"].to_numpy(),
                           (fills["side"] == "S").to_numpy(), (fills["liquidity"] == "add").to_numpy())
    return pd.DataFrame(comps, index=fills.index)


def propreports_fills(fills: pd.DataFrame, calendar: str = "XNYS") -> pd.DataFrame:
    """Canonical fills -> a PropReports fills export frame (local exchange time, B/S/T)."""
    local = fills["ts"].dt.tz_convert(calendar_timezone(calendar))
    out = pd.DataFrame({
        "Date/Time": local.dt.strftime("%m/%d/%Y %H:%M:%S"),
        "Account": fills["trader_id"],
        "B/S": np.where(fills["short_sale"], "T", fills["side"]),
        "Qty": fills["qty"].round().astype("int64"),
        "Symbol": fills["symbol"], "Price": fills["price"], "Route": fills["route"],
        "Liq": np.where(fills["liquidity"] == "add", "A", "R"),
    })
    out = pd.concat([out, _fee_frame(fills)], axis=1)
    out["Order Id"] = fills["order_id"]
    out["Fill Id"] = fills["fill_id"]
    out["Currency"] = "USD"
    out["ISIN"] = out["CUSIP"] = out["Status"] = ""
    out["PropReports Id"] = np.arange(1, len(fills) + 1)
    return out[FILLS_HEADER]


def propreports_totals(totals: pd.DataFrame, fills: pd.DataFrame) -> pd.DataFrame:
    """Canonical totals (+ their fills, for the fee breakdown) -> a PropReports totals frame."""
    fees = _fee_frame(fills)
    fees["trade_date"], fees["trader_id"] = fills["trade_date"], fills["trader_id"]
    by_day = fees.groupby(["trade_date", "trader_id"], sort=False)[list(FEE_COLUMNS)].sum()
    t = totals.merge(by_day.reset_index(), on=["trade_date", "trader_id"], how="left")
    t[list(FEE_COLUMNS)] = t[list(FEE_COLUMNS)].fillna(0.0)
    out = pd.DataFrame({
        "Date": pd.to_datetime(t["trade_date"]).dt.strftime("%m/%d/%Y"),
        "Account": t["trader_id"], "Type": "Eq", "Orders": t["orders"], "Fills": t["fills"],
        "Qty": t["qty"].round().astype("int64"), "Gross": t["gross_pnl"],
    })
    out = pd.concat([out, t[list(FEE_COLUMNS)]], axis=1)
    out["Net"] = t["net_pnl"]
    out["Unrealized Δ"] = t["unrealized_delta"]
    out["Total Δ"] = t["total_delta"]
    return out[TOTALS_HEADER]


def write_propreports_exports(batch: SimBatch, out_dir: str | Path,
                              calendar: str = "XNYS") -> list[Path]:
    """Write ``fills_<first>_<last>.csv`` and ``totals_<first>_<last>.csv`` into ``out_dir``
    (all accounts of the batch). Returns the two paths (none for an empty batch)."""
    fills = batch.fills.to_pandas()
    totals = batch.totals.to_pandas()
    if totals.empty:
        return []
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    first, last = (d.strftime("%Y%m%d") for d in (totals["trade_date"].min(), totals["trade_date"].max()))
    paths = [out / f"fills_{first}_{last}.csv", out / f"totals_{first}_{last}.csv"]
    propreports_fills(fills, calendar).to_csv(paths[0], index=False)
    propreports_totals(totals, fills).to_csv(paths[1], index=False)
    return paths
