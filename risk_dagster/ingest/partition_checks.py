"""Quality checks of a partition of canonical fills and totals, whatever their source.

Pure functions returning CheckOutcome values; the Dagster layer turns them into asset check
results, and refuses to store a partition when a blocking check fails.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from risk_dagster.core.calendar import calendar_timezone
from risk_dagster.core.schemas import FILLS, TOTALS, TableSchema
from risk_dagster.core.trader_ids import is_valid_trader_id

# Totals and fills agree when counts match exactly and sums within this tolerance.
QTY_REL_TOL = 1e-6
PNL_ABS_TOL_USD = 0.05
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    blocking: bool
    detail: str
    failures: int = 0
    examples: list[dict] = field(default_factory=list)


def _outcome(name: str, bad: pd.DataFrame, blocking: bool, what: str) -> CheckOutcome:
    n = len(bad)
    examples = bad.head(MAX_EXAMPLES).astype(str).to_dict("records") if n else []
    detail = f"{n} rows {what}" if n else f"no rows {what}"
    return CheckOutcome(name, n == 0, blocking, detail, n, examples)


def check_schema(frame: pd.DataFrame, schema: TableSchema) -> CheckOutcome:
    """Columns present with the canonical Arrow types."""
    problems = []
    for col in schema.columns:
        if col.name not in frame.columns:
            problems.append(f"missing {col.name}")
    try:
        schema.to_arrow(frame)
    except Exception as exc:  # noqa: BLE001 - any cast failure is a schema failure
        problems.append(f"cannot cast to {schema.name} schema: {exc}")
    detail = "; ".join(problems) if problems else f"matches the {schema.name} schema"
    return CheckOutcome(f"{schema.name}_schema", not problems, True, detail, len(problems))


def check_fills(fills: pd.DataFrame, dates: set[dt.date], calendar: str) -> list[CheckOutcome]:
    """All blocking checks of a fills partition covering ``dates``."""
    schema = check_schema(fills, FILLS)
    if not schema.passed:
        return [schema]
    keys = ["trade_date", "ts", "trader_id", "symbol", "side", "order_id", "fill_id", "qty", "price"]
    tz = calendar_timezone(calendar)
    local_date = fills["ts"].dt.tz_convert(tz).dt.date
    return [
        schema,
        _outcome("fills_no_null_keys", fills[fills[keys].isna().any(axis=1)], True,
                 "with a null key column"),
        _outcome("fills_positive_price_qty", fills[~((fills["qty"] > 0) & (fills["price"] > 0))],
                 True, "with a quantity or price <= 0"),
        _outcome("fills_known_sides", fills[~fills["side"].isin(["B", "S"])], True,
                 "with a side other than B/S"),
        _outcome("fills_unique", fills[fills.duplicated(["source", "fill_id"], keep=False)], True,
                 "sharing (source, fill_id) with another row"),
        _outcome("fills_in_partition",
                 fills[(local_date != fills["trade_date"]) | ~fills["trade_date"].isin(dates)],
                 True, f"whose timestamp ({tz}) is outside the partition's date"),
        _outcome("fills_valid_trader_ids",
                 fills[~fills["trader_id"].map(is_valid_trader_id).astype(bool)], True,
                 "with an invalid trader id"),
    ]


def check_totals(totals: pd.DataFrame, dates: set[dt.date]) -> list[CheckOutcome]:
    schema = check_schema(totals, TOTALS)
    if not schema.passed:
        return [schema]
    net_gap = (totals["gross_pnl"] - totals["fees"] - totals["net_pnl"]).abs()
    return [
        schema,
        _outcome("totals_unique", totals[totals.duplicated(["trade_date", "trader_id"], keep=False)],
                 True, "duplicating a (date, trader)"),
        _outcome("totals_in_partition", totals[~totals["trade_date"].isin(dates)], True,
                 "dated outside the partition"),
        _outcome("totals_net_is_gross_minus_fees", totals[net_gap > PNL_ABS_TOL_USD], False,
                 f"where |gross - fees - net| > {PNL_ABS_TOL_USD} USD"),
    ]


def reconcile_totals(fills: pd.DataFrame, totals: pd.DataFrame) -> CheckOutcome:
    """Totals agree with the fills: fill count, quantity, and gross P&L where fills carry it.

    Derived totals are computed from the fills and are not compared with themselves.
    """
    reported = totals[~totals["derived"]]
    if reported.empty:
        return CheckOutcome("totals_reconcile_with_fills", True, False,
                            "all totals derived from fills; nothing to reconcile")
    agg = fills.groupby(["trade_date", "trader_id"]).agg(
        f_fills=("fill_id", "size"), f_qty=("qty", "sum"),
        f_gross=("realized_pnl", lambda s: s.sum(min_count=1)),
    ).reset_index()
    merged = reported.merge(agg, on=["trade_date", "trader_id"], how="left")
    merged[["f_fills", "f_qty"]] = merged[["f_fills", "f_qty"]].fillna(0)
    bad_count = merged["fills"] != merged["f_fills"]
    bad_qty = ~np.isclose(merged["qty"], merged["f_qty"], rtol=QTY_REL_TOL, atol=1e-9)
    bad_gross = merged["f_gross"].notna() & ((merged["gross_pnl"] - merged["f_gross"]).abs()
                                             > PNL_ABS_TOL_USD)
    bad = merged[bad_count | bad_qty | bad_gross][
        ["trade_date", "trader_id", "fills", "f_fills", "qty", "f_qty", "gross_pnl", "f_gross"]]
    return _outcome("totals_reconcile_with_fills", bad, False,
                    f"whose fills count, quantity (rel. tol {QTY_REL_TOL}) or gross P&L "
                    f"(tol {PNL_ABS_TOL_USD} USD) disagree with the fills")


def blocking_failures(outcomes: list[CheckOutcome]) -> list[CheckOutcome]:
    return [o for o in outcomes if o.blocking and not o.passed]
