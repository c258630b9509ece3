"""PropReports reports as they come: total rows, section and date headers, page footers."""

from __future__ import annotations

import datetime as dt

import pytest

from risk_dagster.ingest import IngestError, parse_file, parse_propreports_fills

from .samples import FILLS_26, csv_text, fill_rows

# The summary-by-date report, as PropReports writes it: day rows of one account, then the
# section's total row, which carries the instrument type where the date goes and only Net.
TOTALS_HEADER = ("Date,Type,Orders,Fills,Qty,Gross,Comm,Ecn Fee,SEC,ORF,CAT,TAF,FTT,NSCC,Acc,Clr,"
                 "Misc,Net,Unrealized Δ,Total Δ")
DAY1 = "01/02/2024,Eq,3,5,500,100.00,1.00,0.50,0.10,0,0,0,0,0,0,0,0,98.40,5.00,103.40"
DAY2 = "01/03/2024,Eq,2,2,200,-40.00,2.00,0,0,0,0,0,0,0,0,0,0,-42.00,0,-42.00"
EMPTY_TAIL = "," * 16  # Type .. Misc empty


def _totals(*lines: str) -> str:
    return "\n".join([TOTALS_HEADER, *lines]) + "\n"


def _parse_totals(write, text, name="totals.csv"):
    return parse_file(write(name, text), "propreports", calendar="XNYS", account="T0001")


def test_summary_with_equities_total_row_loads_as_the_reported_totals(write):
    parsed = _parse_totals(write, _totals(DAY1, DAY2, f"Equities{EMPTY_TAIL},56.40,,"))
    t = parsed.totals
    assert t["trade_date"].tolist() == [dt.date(2024, 1, 2), dt.date(2024, 1, 3)]
    assert t["net_pnl"].tolist() == pytest.approx([98.40, -42.00])
    assert t["unrealized_delta"].tolist() == pytest.approx([5.0, 0.0])
    assert not t["derived"].any() and parsed.rows == 2


def test_total_row_that_is_not_the_sum_names_both_lines(write):
    with pytest.raises(IngestError) as info:
        _parse_totals(write, _totals(DAY1, DAY2, f"Equities{EMPTY_TAIL},1056.40,,"))
    err = info.value
    assert (err.file, err.row, err.column) == ("totals.csv", 4, "Net")
    assert err.message == ("total row 'Equities' (Net 1,056.40) is not the sum of its day rows "
                           "on lines 2-3 (56.40)")


def test_sections_with_headers_totals_and_a_grand_total(write):
    opt = "01/02/2024,Opt,1,1,2,-10.00,1.00,0,0,0,0,0,0,0,0,0,0,-11.00,0,-11.00"
    text = _totals("Equities" + "," * 19, DAY1, DAY2, f"Equities{EMPTY_TAIL},56.40,,",
                   "Options" + "," * 19, opt, f"Options{EMPTY_TAIL},-11.00,,",
                   f"Total{EMPTY_TAIL},45.40,,", "Page 1/1")
    t = _parse_totals(write, text).totals
    assert t["net_pnl"].tolist() == pytest.approx([87.40, -42.00])  # Eq + Opt on 01/02
    with pytest.raises(IngestError) as info:
        _parse_totals(write, text.replace("Total" + EMPTY_TAIL + ",45.40", "Total" + EMPTY_TAIL
                                          + ",45.90"), name="t2.csv")
    assert info.value.row == 9 and "'Total' (Net 45.90)" in info.value.message
    assert "lines 3-7 (45.40)" in info.value.message


def test_total_row_with_gross_and_fees_filled_checks_each(write):
    row = "Equities,,5,7,700,60.00,3.00,0.50,0.10,0,0,0,0,0,0,0,0,56.40,5.00,61.40"
    assert len(_parse_totals(write, _totals(DAY1, DAY2, row)).totals) == 2
    with pytest.raises(IngestError) as info:
        _parse_totals(write, _totals(DAY1, DAY2, row.replace(",60.00,", ",61.00,")), "b.csv")
    assert (info.value.row, info.value.column) == (4, "Gross")


def test_only_report_lines_is_refused(write):
    with pytest.raises(IngestError, match="no data rows, only report lines"):
        _parse_totals(write, _totals("Equities" + "," * 19, "Page 1/1"))
    with pytest.raises(IngestError, match="line 2: total row 'Equities' closes no day rows"):
        _parse_totals(write, _totals(f"Equities{EMPTY_TAIL},0,,", "Page 1/1"), "b.csv")


def test_api_reply_page_footers(write):
    body = csv_text(FILLS_26, fill_rows(3))
    fills = parse_propreports_fills(write("f.csv", body + "Page 1/1\n"))
    assert fills["fill_id"].tolist() == ["F1", "F2", "F3"]
    lines = body.splitlines()
    text = "\n".join([lines[0], lines[1], "Page 1/3", lines[2], "Page 2/3", lines[3],
                      "Page 3/3"]) + "\n"
    assert len(parse_propreports_fills(write("g.csv", text))) == 3
    missing = "\n".join([lines[0], lines[1], "Page 1/3", lines[2], "Page 3/3"]) + "\n"
    with pytest.raises(IngestError) as info:
        parse_propreports_fills(write("h.csv", missing))
    assert info.value.row == 3 and "page footers read 1/3, 3/3" in info.value.message


def test_trades_report_with_section_and_date_headers(write):
    rows = fill_rows(3)
    rows[2]["Date/Time"] = "01/03/2024 10:00:00"
    body = csv_text(FILLS_26, rows).splitlines()
    text = "\n".join([body[0], "Equities", "01/02/2024" + "," * 25, body[1], body[2],
                      "01/03/2024", body[3]]) + "\n"
    fills = parse_propreports_fills(write("trades.csv", text))
    assert fills["fill_id"].tolist() == ["F1", "F2", "F3"]
    assert fills["trade_date"].tolist() == [dt.date(2024, 1, 2)] * 2 + [dt.date(2024, 1, 3)]
    wrong = text.replace("\n01/03/2024\n", "\n01/04/2024\n")
    with pytest.raises(IngestError) as info:
        parse_propreports_fills(write("t2.csv", wrong))
    assert (info.value.row, info.value.column) == (7, "Date/Time")
    assert "under the date header '01/04/2024' on line 6" in info.value.message


def test_a_short_line_that_is_not_structure_is_still_an_error(write):
    body = csv_text(FILLS_26, fill_rows(2)).splitlines()
    text = "\n".join([body[0], body[1], "T0001,B,100", body[2]]) + "\n"
    with pytest.raises(IngestError) as info:
        parse_propreports_fills(write("f.csv", text))
    assert info.value.row == 3 and "expected 26 fields, got 3" in info.value.message
