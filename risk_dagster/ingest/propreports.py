"""PropReports exports: the fills export and the totals-by-date export.

Columns are found by header name, never by position (exports carry 22 to 26 columns; optional
columns may be missing, unknown ones are ignored with a warning). Fees are the sum of the fee
columns present, in USD with cost > 0 (``Ecn Fee`` may be negative: a rebate).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from risk_dagster.core.schemas import TOTALS
from risk_dagster.core.settings import DEFAULT_CALENDAR
from risk_dagster.core.trader_ids import InvalidTraderId, validate_trader_id
from risk_dagster.ingest import convert
from risk_dagster.ingest.errors import IngestError
from risk_dagster.ingest.fills_frame import (LINES_ATTR, WARNINGS_ATTR, build_fills, check_dates,
                                             check_unique, encode_lines)
from risk_dagster.ingest.reader import RawTable, normalize_header, read_raw
from risk_dagster.ingest.report_structure import split_totals_report, split_trades_report
from risk_dagster.ingest.row_warnings import CURRENCY, RowWarning

SOURCE = "propreports"
FEE_COLUMNS = ("Comm", "Ecn Fee", "SEC", "ORF", "CAT", "TAF", "FTT", "NSCC", "Acc", "Clr", "Misc")
FILLS_REQUIRED = ("Date/Time", "Account", "B/S", "Qty", "Symbol", "Price", "Order Id")
FILLS_OPTIONAL = ("Route", "Liq", "Fill Id", "Currency", "ISIN", "CUSIP", "Status",
                  "PropReports Id")
TOTALS_REQUIRED = ("Date", "Orders", "Fills", "Qty", "Gross", "Net")
TOTALS_OPTIONAL = ("Type", "Account", "Unrealized Δ", "Total Δ", "Unrealized", "Realized",
                   "End Balance")
FILL_TIME_FORMATS = ["%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M"]
DATE_FORMATS = ["%m/%d/%Y", "%Y-%m-%d"]
# B/S codes: T is a short sale, a sell that opens or adds to a short position.
SIDES = {"B": "B", "S": "S", "T": "T"}
LIQUIDITY = {"A": "add", "R": "remove"}


def is_fills_header(header: list[str]) -> bool:
    """True for a fills export (it has Date/Time and B/S), False otherwise."""
    keys = {normalize_header(h) for h in header}
    return {"date/time", "b/s"} <= keys


def parse_propreports_fills(path: str | Path, *, calendar: str = DEFAULT_CALENDAR,
                            timezone: str = "America/New_York",
                            expected_dates: Iterable[dt.date] | None = None,
                            skip_lines: Iterable[int] = ()) -> pd.DataFrame:
    """Read a PropReports fills export into the canonical FILLS frame.

    ``Date/Time`` is exchange local time in ``timezone``; ``ts`` is UTC and ``trade_date`` the date
    in the calendar's timezone. B = buy, S = sell, T = short sale (side 'S', short_sale True).
    ``fill_id`` is ``Fill Id`` where present, else a content hash. Qty in shares, money in USD.
    Warnings (ignored columns, encoding fallback) are in ``frame.attrs["ingest_warnings"]``.
    ``skip_lines``: file lines to leave out (``--skip-bad-rows``). Raises IngestError naming
    file, line and column on bad input.
    """
    raw = read_raw(path, skip_lines=skip_lines)
    return build_fills(raw, **fills_columns(raw, calendar=calendar, timezone=timezone,
                                            expected_dates=expected_dates))


def fills_columns(raw: RawTable, *, calendar: str, timezone: str,
                  expected_dates: Iterable[dt.date] | None) -> dict:
    """The keyword arguments of ``fills_frame.build_fills`` / ``fills_table`` for the records of
    ``raw`` (a whole export or a block of one): the converted and checked columns."""
    req = {name: raw.require(name) for name in FILLS_REQUIRED}
    opt = {name: raw.find(name) for name in (*FILLS_OPTIONAL, *FEE_COLUMNS)}
    split_trades_report(raw, req["Date/Time"], req["B/S"])
    _require_rows(raw)
    raw.ignore_unknown({normalize_header(n) for n in (*FILLS_REQUIRED, *opt)})
    side_code, _ = convert.codes(raw, req["B/S"], SIDES)
    liquidity = (convert.codes(raw, opt["Liq"], LIQUIDITY, unknown="null")[0]
                 if opt["Liq"] else pa.nulls(raw.n_rows, pa.string()))
    cols = {
        "ts": convert.utc_times(raw, [req["Date/Time"]], FILL_TIME_FORMATS, timezone),
        "trader_id": convert.trader_ids(raw, req["Account"]),
        "symbol": convert.text(raw, req["Symbol"]),
        "side": pc.if_else(pc.equal(side_code, "T"), "S", side_code),
        "short_sale": pc.equal(side_code, "T"),
        "qty": convert.positive(raw, req["Qty"], "quantity"),
        "price": convert.positive(raw, req["Price"], "price"),
        "fees": convert.fee_sum(raw, [opt[c] for c in FEE_COLUMNS if opt[c]]),
        "liquidity": liquidity,
        "route": (convert.text(raw, opt["Route"], required=False) if opt["Route"]
                  else pa.nulls(raw.n_rows, pa.string())),
        "order_id": convert.text(raw, req["Order Id"]),
        "realized_pnl": np.full(raw.n_rows, np.nan),
    }
    _warn_currency(raw, opt["Currency"])
    fill_id = convert.text(raw, opt["Fill Id"], required=False) if opt["Fill Id"] else None
    extra = [raw.column(opt[c]) for c in ("PropReports Id", "Route", "Liq") if opt[c]]
    return {"cols": cols, "source": SOURCE, "calendar": calendar, "fill_id": fill_id,
            "hash_extra": extra, "id_column": opt["Fill Id"], "time_column": req["Date/Time"],
            "expected_dates": expected_dates}


def parse_propreports_totals(path: str | Path, *, account: str | None = None,
                             expected_dates: Iterable[dt.date] | None = None,
                             skip_lines: Iterable[int] = ()) -> pd.DataFrame:
    """Read a PropReports totals-by-date export into the canonical TOTALS frame.

    The trader is the ``Account`` column when present, else ``account``. Rows of several ``Type``
    (equities, options, ...) on one date are summed. Fees are the sum of the fee columns present;
    ``Net`` must equal ``Gross`` - fees within rounding (half a cent per money column), and
    ``Total Δ`` must equal ``Net + Unrealized Δ`` when both are present. ``End Balance`` (the
    account's balance at the close) is kept as ``end_balance``, the last one given per account and
    date. USD throughout.
    """
    raw = read_raw(path, skip_lines=skip_lines)
    req = {name: raw.require(name) for name in TOTALS_REQUIRED}
    opt = {name: raw.find(name) for name in (*TOTALS_OPTIONAL, *FEE_COLUMNS)}
    raw.ignore_unknown({normalize_header(n) for n in (*TOTALS_REQUIRED, *opt)})
    fee_cols = [opt[c] for c in FEE_COLUMNS if opt[c]]
    money = [req[c] for c in ("Orders", "Fills", "Qty", "Gross", "Net")] + fee_cols + [
        opt[c] for c in ("Unrealized Δ", "Total Δ", "Unrealized", "Realized") if opt[c]]
    split_totals_report(raw, req["Date"], money,
                        lambda r, c: convert.numbers(r, c, required=False))
    _require_rows(raw)
    gross, net = convert.numbers(raw, req["Gross"]), convert.numbers(raw, req["Net"])
    fees = convert.fee_sum(raw, fee_cols)
    tol = 0.005 * (len(fee_cols) + 2) + 1e-9 * np.abs(gross)
    _check_close(raw, net, gross - fees, tol, req["Net"], "Net != Gross - fees")
    unreal = (np.nan_to_num(convert.numbers(raw, opt["Unrealized Δ"], required=False))
              if opt["Unrealized Δ"] else np.zeros(raw.n_rows))
    total = net + unreal
    if opt["Total Δ"]:
        given = convert.numbers(raw, opt["Total Δ"])
        _check_close(raw, given, total, tol + 0.01, opt["Total Δ"], "Total Δ != Net + Unrealized Δ")
        total = given
    frame = pd.DataFrame({
        "trade_date": _dates(raw, req["Date"]), "trader_id": _totals_accounts(raw, opt, account),
        "orders": convert.counts(raw, req["Orders"]), "fills": convert.counts(raw, req["Fills"]),
        "qty": convert.numbers(raw, req["Qty"]), "gross_pnl": gross, "fees": fees, "net_pnl": net,
        "unrealized_delta": unreal, "total_delta": total,
    })
    types = raw.column(opt["Type"]).to_pandas() if opt["Type"] else pd.Series([""] * raw.n_rows)
    key = frame["trade_date"].astype(str) + "|" + frame["trader_id"] + "|" + types
    check_unique(raw, key, None, "date, account and type")
    if expected_dates is not None:
        check_dates(frame, expected_dates, file=str(raw.path), lines=raw.lines(),
                    column=req["Date"])
    out = frame.groupby(["trade_date", "trader_id"], as_index=False, sort=True).sum()
    first_line = pd.Series(raw.lines()).groupby([frame["trade_date"], frame["trader_id"]],
                                                sort=True).min()
    if opt["End Balance"]:  # one balance per account and day, not a sum over instrument types
        balance = pd.Series(convert.numbers(raw, opt["End Balance"], required=False))
        out["end_balance"] = (frame[["trade_date", "trader_id"]].assign(b=balance)
                              .groupby(["trade_date", "trader_id"], sort=True)["b"].last()
                              .to_numpy())
    out["derived"], out["source"] = False, SOURCE
    out = TOTALS.conform(out)
    out.attrs[WARNINGS_ATTR] = list(raw.warnings)
    out.attrs[LINES_ATTR] = encode_lines(first_line.to_numpy())
    return out


def _require_rows(raw: RawTable) -> None:
    if raw.n_rows == 0:
        kinds = sorted({s.kind.replace("_", " ") for s in raw.structure})
        raise IngestError(raw.path, None, None, "no data rows, only report lines ("
                          + ", ".join(kinds) + ")")


def _dates(raw: RawTable, col: str) -> pd.Series:
    s = convert.text(raw, col)
    parsed = convert.strict_strptime(raw, s, DATE_FORMATS, col, what="date", unit="s")
    return pd.Series(parsed.to_pandas()).dt.normalize()


def _totals_accounts(raw: RawTable, opt: dict[str, str | None], account: str | None) -> object:
    if opt["Account"]:
        return convert.trader_ids(raw, opt["Account"]).to_pandas()
    if account is None:
        raise IngestError(raw.path, None, "Account", "no Account column and no account given")
    try:
        return validate_trader_id(account)
    except InvalidTraderId as exc:
        raise IngestError(raw.path, None, "Account", str(exc)) from None


def _check_close(raw: RawTable, got: np.ndarray, want: np.ndarray, tol: np.ndarray | float,
                 col: str, what: str) -> None:
    bad = np.abs(got - want) > tol
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise raw.error(i, col, f"{what} (got {got[i]:.2f}, expected {want[i]:.2f})")


def _warn_currency(raw: RawTable, col: str | None) -> None:
    if col is None:
        return
    s = pc.utf8_upper(raw.column(col))
    other = pc.and_(pc.not_equal(s, "USD"), pc.not_equal(s, "")).to_numpy(zero_copy_only=False)
    if other.any():
        raw.warnings.append(RowWarning(
            "{file}: {n} fill(s) not in USD (first on line {first}); amounts are taken as USD",
            order=CURRENCY, n=int(other.sum()),
            first=int(raw.lines()[int(np.flatnonzero(other)[0])]), file=raw.path.name))
