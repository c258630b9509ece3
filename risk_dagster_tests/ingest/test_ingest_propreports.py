"""PropReports fills and totals exports: by-name parsing, 22/26 columns, B/S/T, fees, times."""

from __future__ import annotations

import datetime as dt
import random

import pandas as pd
import pytest

from risk_dagster.core.schemas import FILLS, TOTALS
from risk_dagster.ingest import parse_file, parse_propreports_fills, parse_propreports_totals

from .samples import FILLS_22, FILLS_26, csv_text, fill_rows

FEE_OF_DEFAULT = 0.50 - 0.20 + 0 + 0.01 + 0.001 + 0.05  # Comm + Ecn Fee (rebate) + ... + Clr


@pytest.mark.parametrize("columns", [FILLS_22, FILLS_26], ids=["22-columns", "26-columns"])
def test_fills_export_with_22_or_26_columns(write, columns):
    path = write("fills.csv", csv_text(columns, fill_rows(3)))
    fills = parse_propreports_fills(path)
    assert list(fills.columns) == FILLS.names
    assert len(fills) == 3
    assert fills["fees"].tolist() == pytest.approx([FEE_OF_DEFAULT] * 3)
    assert fills["fill_id"].tolist() == ["F1", "F2", "F3"]
    assert fills["notional"].tolist() == pytest.approx([18550.0] * 3)
    assert fills.attrs["ingest_warnings"] == []


def test_times_are_utc_and_trade_date_is_exchange_date(write):
    rows = [{"Date/Time": "07/01/2024 19:59:59"},  # EDT: 23:59:59 UTC, same day
            {"Date/Time": "01/02/2024 19:30"}]      # EST, no seconds: 00:30 UTC next day
    rows = [{**r, "Fill Id": f"F{i}"} for i, r in enumerate(rows)]
    fills = parse_propreports_fills(write("f.csv", csv_text(FILLS_26, rows)))
    assert fills["ts"].tolist() == [pd.Timestamp("2024-07-01 23:59:59", tz="UTC"),
                                    pd.Timestamp("2024-01-03 00:30", tz="UTC")]
    assert fills["trade_date"].tolist() == [dt.date(2024, 7, 1), dt.date(2024, 1, 2)]


def test_buy_sell_and_short_sale_codes(write):
    rows = [{"B/S": "B", "Fill Id": "1"}, {"B/S": "S", "Fill Id": "2"},
            {"B/S": "T", "Fill Id": "3"}, {"B/S": " t ", "Fill Id": "4"}]
    fills = parse_propreports_fills(write("f.csv", csv_text(FILLS_26, rows)))
    assert fills["side"].tolist() == ["B", "S", "S", "S"]
    assert fills["short_sale"].tolist() == [False, False, True, True]


def test_liquidity_flags(write):
    rows = [{"Liq": "A", "Fill Id": "1"}, {"Liq": "R", "Fill Id": "2"},
            {"Liq": "", "Fill Id": "3"}, {"Liq": "X", "Fill Id": "4"}]
    fills = parse_propreports_fills(write("f.csv", csv_text(FILLS_26, rows)))
    assert fills["liquidity"].tolist() == ["add", "remove", None, None]


def test_columns_are_found_by_name_in_any_order(write):
    shuffled = FILLS_26.copy()
    random.Random(3).shuffle(shuffled)
    assert shuffled != FILLS_26
    rows = [{"B/S": "T", "Qty": "250", "Price": "12.5", "Account": "T0042"}]
    a = parse_propreports_fills(write("a.csv", csv_text(FILLS_26, rows)))
    b = parse_propreports_fills(write("b.csv", csv_text(shuffled, rows)))
    pd.testing.assert_frame_equal(a, b)
    assert b.loc[0, ["trader_id", "qty", "price", "side"]].tolist() == ["T0042", 250.0, 12.5, "S"]


def test_minimal_required_columns_hash_the_fill_id(write):
    required = ["Date/Time", "Account", "B/S", "Qty", "Symbol", "Price", "Order Id"]
    fills = parse_propreports_fills(write("f.csv", csv_text(required, fill_rows(2))))
    assert fills["fees"].tolist() == [0.0, 0.0]
    assert fills["route"].isna().all() and fills["liquidity"].isna().all()
    assert all(len(f) == 40 for f in fills["fill_id"])  # sha1 hex
    assert fills["fill_id"].nunique() == 2


def test_thousands_separators_parentheses_bom_and_crlf(write):
    rows = [{"Qty": "1,234", "Price": "1,234.50", "Ecn Fee": "(0.25)"}]
    text = csv_text(FILLS_26, rows, newline="\r\n").rstrip("\r\n")  # no final newline
    fills = parse_propreports_fills(write("f.csv", b"\xef\xbb\xbf" + text.encode()))
    assert fills.loc[0, "qty"] == 1234.0 and fills.loc[0, "price"] == 1234.5
    assert fills.loc[0, "fees"] == pytest.approx(0.50 - 0.25 + 0.01 + 0.001 + 0.05)


def test_totals_export_sums_types_and_checks_net(write):
    text = ("Date,Type,Orders,Fills,Qty,Gross,Comm,Ecn Fee,SEC,ORF,CAT,TAF,FTT,NSCC,Acc,Clr,Misc,"
            "Net,Unrealized Δ,Total Δ,Account\n"
            "01/02/2024,Eq,3,5,500,100.00,1.00,0.50,0.10,0,0,0,0,0,0,0,0,98.40,5.00,103.40,T0001\n"
            "01/02/2024,Opt,1,1,2,-10.00,1.00,0,0,0,0,0,0,0,0,0,0,-11.00,0,-11.00,T0001\n"
            "01/02/2024,Eq,2,2,200,\"1,000.00\",2.00,0,0,0,0,0,0,0,0,0,0,998.00,0,998.00,T0002\n")
    totals = parse_propreports_totals(write("totals.csv", text))
    assert list(totals.columns) == TOTALS.names
    t1 = totals.set_index("trader_id").loc["T0001"]
    assert (t1["orders"], t1["fills"], t1["qty"]) == (4, 6, 502.0)
    assert (t1["gross_pnl"], t1["fees"], t1["net_pnl"]) == pytest.approx((90.0, 2.6, 87.4))
    assert (t1["unrealized_delta"], t1["total_delta"]) == pytest.approx((5.0, 92.4))
    assert not totals["derived"].any()
    assert totals.set_index("trader_id").loc["T0002", "gross_pnl"] == 1000.0


def test_totals_account_from_argument_and_dispatch(write):
    text = "Date,Orders,Fills,Qty,Gross,Comm,Net\n01/03/2024,1,2,100,50.00,1.00,49.00\n"
    path = write("totals.csv", text)
    parsed = parse_file(path, "propreports", calendar="XNYS", account="T0009")
    assert parsed.kind == "totals" and parsed.fills is None and not parsed.derived_totals
    assert parsed.totals[["trader_id", "net_pnl", "total_delta"]].values.tolist() == [
        ["T0009", 49.0, 49.0]]


def test_dispatch_detects_fills_export(write):
    parsed = parse_file(write("f.csv", csv_text(FILLS_22, fill_rows(2))), "propreports",
                        calendar="XNYS")
    assert parsed.kind == "fills" and parsed.rows == 2 and parsed.totals is None
    assert parsed.source == "propreports"
