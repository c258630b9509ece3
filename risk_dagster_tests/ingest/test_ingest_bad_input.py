"""Every kind of bad input is an IngestError naming the file, line and column where it applies."""

from __future__ import annotations

import datetime as dt

import pytest

from risk_dagster.ingest import (IngestError, check_dates, parse_propreports_fills,
                                 parse_propreports_totals)

from risk_dagster.ingest.fills_frame import frame_lines

from .samples import FILLS_26, csv_text, fill_rows


def _error(write, text: str | bytes, name: str = "fills.csv", **kwargs) -> IngestError:
    with pytest.raises(IngestError) as info:
        parse_propreports_fills(write(name, text), **kwargs)
    return info.value


def test_message_reads_file_line_column(write):
    err = _error(write, csv_text(FILLS_26, fill_rows(16) + [{"Qty": "-5", "Fill Id": "X"}]))
    assert (err.file, err.row, err.column) == ("fills.csv", 18, "Qty")
    assert str(err) == "fills.csv, line 18, column 'Qty': quantity must be > 0 (got -5)"


def test_missing_column(write):
    columns = [c for c in FILLS_26 if c != "Symbol"]
    err = _error(write, csv_text(columns, fill_rows(2)))
    assert (err.row, err.column) == (1, "Symbol") and "missing" in err.message


def test_renamed_column_is_missing_under_its_name(write):
    text = csv_text(FILLS_26, fill_rows(2)).replace("Order Id", "OrderID", 1)
    err = _error(write, text)
    assert (err.row, err.column) == (1, "Order Id")
    assert "OrderID" in err.message  # the header found is shown


def test_extra_column_is_accepted_with_a_warning(write):
    fills = parse_propreports_fills(write("f.csv", csv_text([*FILLS_26, "Desk"], fill_rows(2))))
    assert len(fills) == 2
    assert fills.attrs["ingest_warnings"] == ["f.csv: ignored unknown column(s) 'Desk'"]


def test_text_in_qty(write):
    err = _error(write, csv_text(FILLS_26, [*fill_rows(1), {"Qty": "ten", "Fill Id": "F9"}]))
    assert (err.row, err.column) == (3, "Qty") and "'ten'" in err.message


def test_empty_file(write):
    err = _error(write, b"")
    assert err.row is None and "empty file (0 bytes)" in err.message


def test_header_only(write):
    err = _error(write, ",".join(FILLS_26) + "\n")
    assert "no data rows" in err.message


def test_truncated_last_line(write):
    text = csv_text(FILLS_26, fill_rows(3)).rstrip("\n")
    text = text[: text.rfind(",O3")]  # cut inside the last record, no final newline
    err = _error(write, text)
    assert err.row == 4 and "expected 26 fields, got 19" in err.message


def test_non_utf8_bytes_fall_back_to_cp1252_with_a_warning(write):
    text = csv_text(FILLS_26, [*fill_rows(1), {"Route": "CAFÉ", "Fill Id": "F2"}])
    fills = parse_propreports_fills(write("f.csv", text.encode("cp1252")))
    assert fills["route"].tolist() == ["ARCA", "CAFÉ"]
    [warning] = fills.attrs["ingest_warnings"]
    offset = text.encode("cp1252").index(b"\xc9")
    assert warning == (f"f.csv: not valid UTF-8 (byte 0xc9 at byte offset {offset}, line 3); "
                       "decoded the file as cp1252")


@pytest.mark.parametrize(("col", "value", "label"), [
    ("Qty", "0", "quantity"), ("Qty", "-5", "quantity"), ("Price", "0", "price"),
    ("Price", "(1.00)", "price")])
def test_zero_or_negative_quantity_or_price(write, col, value, label):
    err = _error(write, csv_text(FILLS_26, [*fill_rows(2), {col: value, "Fill Id": "F9"}]))
    assert (err.row, err.column) == (4, col) and err.message.startswith(f"{label} must be > 0")


def test_unknown_side(write):
    err = _error(write, csv_text(FILLS_26, [{"B/S": "X"}]))
    assert (err.row, err.column) == (2, "B/S") and "unknown value 'X'" in err.message


def test_duplicate_fill_id_names_both_lines(write):
    rows = [*fill_rows(3), {"Fill Id": "F2", "Order Id": "O7"}]
    err = _error(write, csv_text(FILLS_26, rows))
    assert (err.row, err.column) == (5, "Fill Id") and "duplicate of line 3" in err.message


def test_exact_duplicate_rows_are_dropped_and_counted(write):
    columns = [c for c in FILLS_26 if c not in {"Fill Id", "PropReports Id"}]
    rows = [{"Order Id": "O1"}, {"Order Id": "O1", "Qty": "50"}, {"Order Id": "O1"}]
    fills = parse_propreports_fills(write("f.csv", csv_text(columns, rows)))
    assert fills["qty"].tolist() == [100.0, 50.0]
    assert frame_lines(fills).tolist() == [2, 3]
    assert fills.attrs["ingest_warnings"] == [
        "f.csv: dropped 1 exact duplicate row(s) (first on line 4, same as line 2)"]


def test_same_fill_id_with_other_content_is_an_error_after_exact_duplicates(write):
    rows = [*fill_rows(2), fill_rows(1)[0], {"Fill Id": "F2", "Qty": "7"}]
    err = _error(write, csv_text(FILLS_26, rows))
    assert (err.row, err.column) == (5, "Fill Id") and "duplicate of line 3" in err.message


def test_mixed_timezones(write):
    rows = [{"Date/Time": "01/02/2024 09:30:00", "Fill Id": "1"},
            {"Date/Time": "01/02/2024 09:31:00-05:00", "Fill Id": "2"}]
    err = _error(write, csv_text(FILLS_26, rows))
    assert err.column == "Date/Time" and "mixed timezones" in err.message
    assert "line 3 carries a UTC offset" in err.message and "line 2 does not" in err.message


def test_nonexistent_local_time(write):
    err = _error(write, csv_text(FILLS_26, [{"Date/Time": "03/10/2024 02:30:00"}]))
    assert (err.row, err.column) == (2, "Date/Time") and "does not exist" in err.message


def test_unreadable_time(write):
    err = _error(write, csv_text(FILLS_26, [{"Date/Time": "2024-01-02T09:30"}]))
    assert (err.row, err.column) == (2, "Date/Time") and "cannot read time" in err.message


def test_dates_outside_the_expected_partition(write):
    rows = [{"Fill Id": "1"}, {"Fill Id": "2", "Date/Time": "01/03/2024 10:00:00"}]
    path = write("f.csv", csv_text(FILLS_26, rows))
    assert len(parse_propreports_fills(path, expected_dates=[dt.date(2024, 1, 2),
                                                             dt.date(2024, 1, 3)])) == 2
    with pytest.raises(IngestError) as info:
        parse_propreports_fills(path, expected_dates=[dt.date(2024, 1, 2)])
    assert (info.value.row, info.value.column) == (3, "Date/Time")
    assert "2024-01-03 is outside the expected partition" in info.value.message


def test_check_dates_helper_names_the_row(write):
    fills = parse_propreports_fills(write("f.csv", csv_text(FILLS_26, fill_rows(2))))
    check_dates(fills, [dt.date(2024, 1, 2)], file="f.csv")
    with pytest.raises(IngestError) as info:
        check_dates(fills, [dt.date(2024, 1, 3)], file="f.csv")
    assert (info.value.file, info.value.row) == ("f.csv", 2)


@pytest.mark.parametrize("account", ["../etc", "T 1", "a|b", ""])
def test_malformed_account(write, account):
    err = _error(write, csv_text(FILLS_26, [*fill_rows(1), {"Account": account, "Fill Id": "F9"}]))
    assert (err.row, err.column) == (3, "Account")


def test_totals_net_mismatch(write):
    text = ("Date,Orders,Fills,Qty,Gross,Comm,Net,Account\n"
            "01/02/2024,1,1,100,50.00,1.00,49.00,T1\n"
            "01/03/2024,1,1,100,50.00,1.00,51.00,T1\n")
    with pytest.raises(IngestError) as info:
        parse_propreports_totals(write("totals.csv", text))
    assert (info.value.row, info.value.column) == (3, "Net")
    assert "Net != Gross - fees (got 51.00, expected 49.00)" in info.value.message


def test_totals_without_account(write):
    with pytest.raises(IngestError) as info:
        parse_propreports_totals(write("t.csv", "Date,Orders,Fills,Qty,Gross,Net\n"
                                                "01/02/2024,1,1,1,1,1\n"))
    assert info.value.column == "Account"


def test_line_numbers_count_blank_lines(write):
    lines = csv_text(FILLS_26, [*fill_rows(2), {"Qty": "abc", "Fill Id": "F9"}]).split("\n")
    text = "\n".join([*lines[:2], "", *lines[2:]])  # a blank line 3 before the records
    err = _error(write, text)
    assert (err.row, err.column) == (5, "Qty")
