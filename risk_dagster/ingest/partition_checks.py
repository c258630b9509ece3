"""Quality checks of a partition of canonical fills and totals, whatever their source.

Pure functions returning CheckOutcome values; the Dagster layer turns them into asset check
results, and refuses to store a partition when a blocking check fails. The row rules run as one
DuckDB pass over the Arrow table (millions of fills per second); offending rows are fetched
only when a rule fails, as examples for the error message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from risk_dagster.core.calendar import calendar_timezone, fill_session_dates, opens_overnight
from risk_dagster.core.schemas import FILLS, TOTALS, TableSchema
from risk_dagster.core.trader_ids import is_valid_trader_id
from risk_dagster.ingest.fifo import FifoLedger, fifo_by_trader_day

# Totals and fills agree when counts match exactly and sums within these tolerances.
QTY_REL_TOL = 1e-6
PNL_ABS_TOL_USD = 0.05
# Reported gross vs FIFO realized P&L of the fills, per trader-day (USD): a cent of rounding per
# reported money column, with room. Overridden by RISK_PNL_TOLERANCE_USD (Settings).
FIFO_PNL_TOL_USD = 0.05
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    blocking: bool
    detail: str
    failures: int = 0
    examples: list[dict] = field(default_factory=list)


# (check name, SQL predicate true for a bad row, what the bad rows are). Predicates are constant
# SQL text; the values they compare with ($dates) are bound parameters.
_FILL_RULES = [
    ("fills_no_null_keys", "trade_date IS NULL OR ts IS NULL OR trader_id IS NULL OR symbol IS NULL "
     "OR side IS NULL OR order_id IS NULL OR fill_id IS NULL OR qty IS NULL OR price IS NULL",
     "with a null key column"),
    ("fills_positive_price_qty", "coalesce(NOT (qty > 0 AND price > 0), true)",
     "with a quantity or price <= 0"),
    ("fills_known_sides", "coalesce(side NOT IN ('B', 'S'), true)", "with a side other than B/S"),
]
_TOTALS_RULES = [
    ("totals_in_partition", "coalesce(NOT list_contains($dates, trade_date), true)",
     "dated outside the partition"),
    ("totals_net_is_gross_minus_fees",
     f"coalesce(abs(gross_pnl - fees - net_pnl) > {PNL_ABS_TOL_USD}, true)",
     f"where |gross - fees - net| > {PNL_ABS_TOL_USD} USD"),
]
_NON_BLOCKING = {"totals_net_is_gross_minus_fees"}


def _as_arrow(frame: pa.Table | pd.DataFrame, schema: TableSchema) -> tuple[pa.Table | None, CheckOutcome]:
    """Cast to the canonical schema; the outcome says whether that worked."""
    name = f"{schema.name}_schema"
    try:
        table = (schema.to_arrow(frame) if isinstance(frame, pd.DataFrame)
                 else schema.select_arrow(frame))
    except (KeyError, ValueError, TypeError, pa.ArrowException) as exc:
        return None, CheckOutcome(name, False, True, f"does not fit the {schema.name} schema: {exc}", 1)
    return table, CheckOutcome(name, True, True, f"matches the {schema.name} schema")


def _used(sql: str, params: dict) -> dict:
    """The named parameters that ``sql`` uses (DuckDB refuses unused ones)."""
    return {k: v for k, v in params.items() if f"${k}" in sql}


def _run_rules(table: pa.Table, rules, params: dict) -> list[CheckOutcome]:
    con = duckdb.connect()
    con.register("t", table)
    sql = "SELECT " + ", ".join(f"count(*) FILTER (WHERE {pred})" for _, pred, _ in rules) + " FROM t"
    counts = con.execute(sql, _used(sql, params)).fetchone()
    outcomes = []
    for (name, pred, what), n in zip(rules, counts, strict=True):
        examples = []
        if n:
            sql = f"SELECT * FROM t WHERE {pred} LIMIT {MAX_EXAMPLES}"
            examples = (con.execute(sql, _used(sql, params)).df().astype(str).to_dict("records"))
        detail = f"{n} rows {what}" if n else f"no rows {what}"
        outcomes.append(CheckOutcome(name, n == 0, name not in _NON_BLOCKING, detail, n, examples))
    return outcomes


def _duplicates(table: pa.Table, keys: list[str], name: str, what: str) -> CheckOutcome:
    con = duckdb.connect()
    con.register("t", table)
    cols = ", ".join(keys)  # canonical column names, not user input
    dup = con.execute(f"SELECT {cols}, count(*) AS n FROM t GROUP BY {cols} HAVING count(*) > 1 "
                      "ORDER BY n DESC").df()
    n = int(dup["n"].sum()) if len(dup) else 0
    examples = dup.head(MAX_EXAMPLES).astype(str).to_dict("records")
    return CheckOutcome(name, n == 0, True, f"{n} rows {what}" if n else f"no rows {what}", n, examples)


def _trader_ids(table: pa.Table, name: str) -> CheckOutcome:
    ids = pa.compute.unique(table["trader_id"]).to_pylist()
    bad = [t for t in ids if t is not None and not is_valid_trader_id(t)]
    return CheckOutcome(name, not bad, True,
                        f"{len(bad)} invalid trader ids" if bad else "all trader ids valid",
                        len(bad), [{"trader_id": t} for t in bad[:MAX_EXAMPLES]])


def _session_mismatch(table: pa.Table, calendar: str) -> np.ndarray:
    """True where a fill's trade_date is not the session of its timestamp in its calendar (the
    fill's own ``calendar``, else ``calendar``); only for overnight calendars (CME Globex)."""
    codes = (pd.Series(table["calendar"].to_pandas()) if "calendar" in table.column_names
             else pd.Series([None] * table.num_rows)).fillna(calendar).to_numpy(object)
    bad = np.zeros(table.num_rows, dtype=bool)
    ts = pd.Series(table["ts"].to_pandas())
    days = pd.to_datetime(pd.Series(table["trade_date"].to_pandas()))
    for code in pd.unique(codes):
        mask = codes == code
        if opens_overnight(code):
            expected, _ = fill_session_dates(ts[mask], code)
            bad[mask] = (expected.to_numpy() != days[mask].to_numpy())
    return bad


def _in_partition(table: pa.Table, dates: set[dt.date], calendar: str) -> CheckOutcome:
    """Each fill's trade_date is one of ``dates`` and its timestamp falls inside that date in the
    calendar's timezone: compared with each date's [local midnight, next local midnight) in UTC,
    so no timestamp needs converting. A fill dated by an overnight calendar (a future's own CME
    Globex calendar, or the partitions' when that is one) must instead carry the session its
    timestamp trades in."""
    days = sorted(dates)
    tz = calendar_timezone(calendar)
    unit = pa.timestamp("us", tz="UTC")
    overnight = (pc.is_valid(table["calendar"]).to_numpy(zero_copy_only=False)
                 if "calendar" in table.column_names else np.zeros(table.num_rows, dtype=bool))
    if opens_overnight(calendar):
        overnight[:] = True

    def midnights(values) -> pa.Array:  # local midnight of each date, in UTC (DST-safe)
        return pa.array(pd.DatetimeIndex([pd.Timestamp(d) for d in values])
                        .tz_localize(tz).tz_convert("UTC"), unit)

    if days:
        idx = pc.index_in(table["trade_date"], value_set=pa.array(days, pa.date32()))
        lo = midnights(days).take(idx)
        hi = midnights([d + dt.timedelta(days=1) for d in days]).take(idx)
        inside = pc.and_kleene(pc.greater_equal(table["ts"], lo), pc.less(table["ts"], hi))
        bad = pc.invert(pc.fill_null(inside, False))
        if overnight.any():
            known = pc.is_valid(idx).to_numpy(zero_copy_only=False)
            local_bad = bad.to_numpy(zero_copy_only=False)
            session_bad = np.zeros(table.num_rows, dtype=bool)
            rows = np.flatnonzero(overnight)
            session_bad[rows] = _session_mismatch(table.take(rows), calendar)
            bad = pa.array(np.where(overnight, session_bad | ~known, local_bad))
    else:
        bad = pa.array([True] * table.num_rows)
    n = int(pc.sum(bad).as_py() or 0)
    examples = (table.filter(bad).slice(0, MAX_EXAMPLES).to_pandas().astype(str).to_dict("records")
                if n else [])
    what = f"whose timestamp ({tz}) is outside the partition's date"
    return CheckOutcome("fills_in_partition", n == 0, True,
                        f"{n} rows {what}" if n else f"no rows {what}", n, examples)


def check_fills(fills: pa.Table | pd.DataFrame, dates: set[dt.date], calendar: str) -> list[CheckOutcome]:
    """All blocking checks of the fills of ``dates``."""
    table, schema = _as_arrow(fills, FILLS)
    if table is None:
        return [schema]
    return [schema, *_run_rules(table, _FILL_RULES, {}), _in_partition(table, dates, calendar),
            _duplicates(table, ["source", "fill_id"], "fills_unique",
                        "sharing (source, fill_id) with another row"),
            _trader_ids(table, "fills_valid_trader_ids")]


def check_totals(totals: pa.Table | pd.DataFrame, dates: set[dt.date]) -> list[CheckOutcome]:
    table, schema = _as_arrow(totals, TOTALS)
    if table is None:
        return [schema]
    return [schema, _duplicates(table, ["trade_date", "trader_id"], "totals_unique",
                                "duplicating a (date, trader)"),
            *_run_rules(table, _TOTALS_RULES, {"dates": sorted(dates)})]


def reconcile_totals(fills: pa.Table | pd.DataFrame, totals: pa.Table | pd.DataFrame) -> CheckOutcome:
    """Reported totals agree with the fills: fill count, quantity, and gross P&L where the fills
    carry realized P&L. Derived totals come from the fills and are not compared with themselves."""
    con = duckdb.connect()
    con.register("f", fills)
    con.register("t", totals)
    bad = con.execute("""
        WITH agg AS (
            SELECT trade_date, trader_id, count(*) AS f_fills, sum(qty) AS f_qty,
                   sum(realized_pnl) AS f_gross
            FROM f GROUP BY ALL)
        SELECT t.trade_date, t.trader_id, t.fills, coalesce(a.f_fills, 0) AS f_fills,
               t.qty, coalesce(a.f_qty, 0) AS f_qty, t.gross_pnl, a.f_gross
        FROM t LEFT JOIN agg a USING (trade_date, trader_id)
        WHERE NOT t.derived AND (
            t.fills <> coalesce(a.f_fills, 0)
            OR abs(t.qty - coalesce(a.f_qty, 0)) > $qty_tol * greatest(abs(t.qty), 1)
            OR (a.f_gross IS NOT NULL AND abs(t.gross_pnl - a.f_gross) > $pnl_tol))
        ORDER BY ALL""", {"qty_tol": QTY_REL_TOL, "pnl_tol": PNL_ABS_TOL_USD}).df()
    what = (f"whose fills count, quantity (rel. tol {QTY_REL_TOL}) or gross P&L "
            f"(tol {PNL_ABS_TOL_USD} USD) disagree with the fills")
    n = len(bad)
    return CheckOutcome("totals_reconcile_with_fills", n == 0, False,
                        f"{n} rows {what}" if n else f"no rows {what}", n,
                        bad.head(MAX_EXAMPLES).astype(str).to_dict("records"))


def reconcile_fifo_pnl(fills: pa.Table | pd.DataFrame, totals: pa.Table | pd.DataFrame,
                       ledger: FifoLedger | None = None, *,
                       tol_usd: float = FIFO_PNL_TOL_USD) -> CheckOutcome:
    """Reported gross (and fees) per trader-day agree with the fills, blocking.

    Gross is recomputed from the fills by FIFO lot matching (``ingest.fifo``) with each fill's
    multiplier (futures point values) and the open lots in ``ledger`` (positions carried from
    earlier days; updated here). Fees are compared when the trader-day's fills report any.
    A reported trader-day without fills must have a gross of 0. Derived totals are skipped
    (they come from the fills). ``tol_usd``: allowed |difference| per trader-day (USD).
    """
    t = totals.to_pandas() if isinstance(totals, pa.Table) else totals
    reported = t.loc[~t["derived"].astype(bool), ["trade_date", "trader_id", "gross_pnl", "fees"]]
    if reported.empty:  # nothing to compare: keep the fills for the lots of later chunks
        if ledger is not None:
            ledger.defer(fills)
        return CheckOutcome("totals_gross_matches_fills_fifo", True, True,
                            "no reported totals (all derived from the fills)")
    fifo = fifo_by_trader_day(fills, ledger)
    both = reported.merge(fifo, on=["trade_date", "trader_id"], how="left")
    both["fifo_gross"] = both["fifo_gross"].fillna(0.0)
    both["fills_fees"] = both["fills_fees"].fillna(0.0)
    both["gross_diff"] = both["gross_pnl"] - both["fifo_gross"]
    fees_known = both["fills_fees"].abs() > 0
    bad_gross = both["gross_diff"].abs() > tol_usd
    bad_fees = fees_known & ((both["fees"] - both["fills_fees"]).abs() > tol_usd)
    bad = both[bad_gross | bad_fees].sort_values(["trade_date", "trader_id"])
    n = len(bad)
    what = (f"whose gross P&L differs from the fills' FIFO realized P&L (or fees from the fills' "
            f"fees) by more than {tol_usd} USD")
    days = ", ".join(f"{r.trade_date}|{r.trader_id} (gross {r.gross_pnl:.2f} vs fills "
                     f"{r.fifo_gross:.2f})" for r in bad.head(MAX_EXAMPLES).itertuples())
    detail = f"{n} trader-days {what}: {days}" if n else f"no trader-days {what}"
    examples = bad.head(MAX_EXAMPLES).round(2).astype(str).to_dict("records")
    return CheckOutcome("totals_gross_matches_fills_fifo", n == 0, True, detail, n, examples)


def blocking_failures(outcomes: list[CheckOutcome]) -> list[CheckOutcome]:
    return [o for o in outcomes if o.blocking and not o.passed]
