"""File formats: encodings, delimiters, .xlsx, binary files, decimal commas, impossible dates,
absurd numbers, fractional seconds."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest

from risk_dagster.ingest import IngestError, parse_file, parse_propreports_fills
from risk_dagster.ingest.mapping import parse_mapped_fills

from .samples import FILLS_22, FILLS_26, csv_text, fill_rows


def _err(fn) -> IngestError:
    with pytest.raises(IngestError) as info:
        fn()
    return info.value


@pytest.mark.parametrize("encoding,prefix", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"),
                                             ("utf-16-le", b"\xff\xfe"),
                                             ("utf-16-be", b"\xfe\xff"), ("cp1252", b"")],
                         ids=["utf8", "utf8-bom", "utf16le-bom", "utf16be-bom", "cp1252"])
def test_encodings(write, encoding, prefix):
    text = csv_text(FILLS_26, fill_rows(2, Symbol="CAFÉ", Route="ARCA"))
    fills = parse_propreports_fills(write("f.csv", prefix + text.encode(encoding)))
    assert fills["symbol"].tolist() == ["CAFÉ", "CAFÉ"]
    assert fills["qty"].tolist() == [100.0, 100.0]
    warn = fills.attrs["ingest_warnings"]
    if encoding == "cp1252":
        assert warn == ["f.csv: not valid UTF-8 (byte 0xc9 at byte offset "
                        f"{text.index('CAFÉ') + 3}, line 2); decoded the file as cp1252"]
    else:
        assert warn == []


def test_utf16_totals_go_to_the_totals_parser(write):
    text = "Date,Orders,Fills,Qty,Gross,Comm,Net\n01/03/2024,1,2,100,50.00,1.00,49.00\n"
    parsed = parse_file(write("t.csv", b"\xff\xfe" + text.encode("utf-16-le")), "propreports",
                        calendar="XNYS", account="T0009")
    assert parsed.kind == "totals" and parsed.totals["net_pnl"].tolist() == [49.0]


def test_utf16_without_bom_is_named(write):
    text = csv_text(FILLS_26, fill_rows(1))
    err = _err(lambda: parse_propreports_fills(write("f.csv", text.encode("utf-16-le"))))
    assert "UTF-16 text without a byte-order mark" in str(err)


@pytest.mark.parametrize("delim,name", [(";", "semicolon"), ("\t", "tab")])
def test_semicolon_and_tab_delimiters(write, delim, name):
    text = csv_text(FILLS_22, fill_rows(2)).replace(",", delim)
    fills = parse_propreports_fills(write("f.csv", text))
    assert fills["price"].tolist() == [185.5, 185.5]
    assert fills.attrs["ingest_warnings"] == [f"f.csv: read as {name}-separated values"]


def test_one_column_header_says_what_was_found(write):
    text = csv_text(FILLS_22, fill_rows(1)).replace(",", "|")
    err = _err(lambda: parse_propreports_fills(write("f.csv", text)))
    assert err.row == 1 and err.column == "Date/Time"
    assert "the header is one field when split on commas" in err.message


def _xlsx(path, rows):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_xlsx_fills_export(tmp_path):
    header = FILLS_22
    values = [dt.datetime(2024, 1, 2, 9, 30, 5), "T0001", "B", 100, "AAPL", 185.5, "ARCA", "A",
              0.5, -0.2, 0, 0.01, 0.001, 0, 0, 0, 0, 0.05, 0, "O1", "F1", 9001]
    second = [*values[:19], "O2", "F2", 9002]
    second[0] = "01/02/2024 09:31:00"  # text cells are read as CSV text
    path = _xlsx(tmp_path / "fills.xlsx", [header, values, second])
    fills = parse_propreports_fills(path)
    assert fills["ts"].tolist() == [pd.Timestamp("2024-01-02 14:30:05", tz="UTC"),
                                    pd.Timestamp("2024-01-02 14:31:00", tz="UTC")]
    assert fills["fill_id"].tolist() == ["F1", "F2"] and fills["qty"].tolist() == [100.0, 100.0]


def test_xlsx_error_names_spreadsheet_row_and_header(tmp_path):
    rows = [FILLS_22] + [[f"01/02/2024 09:3{i}:00", "T0001", "B", 100, "AAPL", 185.5, "ARCA",
                          "A", 0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, f"O{i}", f"F{i}", i]
                         for i in range(3)]
    rows.insert(2, [None] * len(FILLS_22))  # a blank spreadsheet row is counted
    rows[4][3] = "ten"
    err = _err(lambda: parse_propreports_fills(_xlsx(tmp_path / "f.xlsx", rows)))
    assert (err.file, err.row, err.column) == ("f.xlsx", 5, "Qty")


@pytest.mark.parametrize("content,what", [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel 97-2003 .xls"),
    (b"%PDF-1.7\n...", "a PDF document"),
    (b"\x1f\x8b\x08\x00" + b"\x00" * 20, "a gzip archive"),
    (b"PAR1\x15\x04", "a Parquet file"),
    (b"\x00\x01\x02\x03binary\x00\x00", "binary content (NUL bytes"),
    (b"PK\x03\x04garbage", "damaged ZIP archive"),
])
def test_binary_files_are_told_they_are_not_csv(write, content, what):
    err = _err(lambda: parse_propreports_fills(write("f.csv", content)))
    assert "not a CSV or .xlsx file" in err.message and what in err.message


def test_zip_that_is_not_a_workbook(tmp_path):
    import zipfile

    path = tmp_path / "f.csv"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("fills.csv", "a,b\n1,2\n")
    err = _err(lambda: parse_propreports_fills(path))
    assert "a ZIP archive, not an .xlsx workbook" in err.message


@pytest.mark.parametrize("qty", ["81,33", "1,2345", "12,3"])
def test_decimal_comma_is_refused_not_read_as_thousands(write, qty):
    rows = [*fill_rows(1), {"Qty": qty, "Fill Id": "F9"}]
    err = _err(lambda: parse_propreports_fills(write("f.csv", csv_text(FILLS_26, rows))))
    assert (err.row, err.column) == (3, "Qty")
    assert "is not a thousands separator" in err.message and 'decimal: ","' in err.message


def test_thousands_groups_of_three_are_thousands(write):
    rows = [{"Qty": "1,234", "Price": "1,234,567.25", "Fill Id": "F1"}]
    fills = parse_propreports_fills(write("f.csv", csv_text(FILLS_26, rows)))
    assert (fills.loc[0, "qty"], fills.loc[0, "price"]) == (1234.0, 1234567.25)


def test_decimal_comma_declared_in_the_mapping(write, tmp_path):
    yaml_path = tmp_path / "eu.yaml"
    yaml_path.write_text(
        "name: eubroker\ndecimal: \",\"\naccount: Konto\ntime: {column: Zeit, format: "
        "'%d.%m.%Y %H:%M:%S', timezone: Europe/Berlin}\nsymbol: Symbol\n"
        "side: {column: Seite, values: {K: B, V: S}}\nquantity: Menge\nprice: Kurs\n"
        "fees: [Gebuehr]\norder_id: Auftrag\n")
    text = ("Konto;Zeit;Symbol;Seite;Menge;Kurs;Gebuehr;Auftrag\n"
            "T0001;02.01.2024 10:00:00;SAP;K;1.000;81,33;1,5;A1\n"
            "T0001;02.01.2024 11:00:00;SAP;V;10;1.234,5;0;A2\n")
    fills = parse_mapped_fills(write("eu.csv", text), yaml_path, calendar="XETR")
    assert fills["qty"].tolist() == [1000.0, 10.0]
    assert fills["price"].tolist() == [81.33, 1234.5]
    assert fills["fees"].tolist() == [1.5, 0.0]
    assert fills["source"].tolist() == ["eubroker"] * 2


@pytest.mark.parametrize("when,shown", [("02/30/2024 09:30:00", "03/01/2024 09:30:00"),
                                        ("04/31/2024 10:00:00", "05/01/2024 10:00:00"),
                                        ("02/29/2023 10:00", "03/01/2023 10:00")])
def test_impossible_date_is_refused_not_rolled_over(write, when, shown):
    rows = [*fill_rows(1), {"Date/Time": when, "Fill Id": "F9"}]
    err = _err(lambda: parse_propreports_fills(write("f.csv", csv_text(FILLS_26, rows))))
    assert (err.row, err.column) == (3, "Date/Time")
    assert f"impossible date {when!r}" in err.message and shown in err.message


def test_impossible_totals_date(write):
    text = "Date,Orders,Fills,Qty,Gross,Comm,Net\n02/30/2024,1,2,100,50.00,1.00,49.00\n"
    err = _err(lambda: parse_file(write("t.csv", text), "propreports", calendar="XNYS",
                                  account="T0001"))
    assert (err.row, err.column) == (2, "Date") and "impossible date '02/30/2024'" in err.message


@pytest.mark.parametrize("col,value", [("Qty", "1e308"), ("Price", "1e13"), ("Comm", "5e12"),
                                       ("Qty", "inf"), ("Price", "NaN")])
def test_absurd_or_non_finite_numbers_are_refused(write, col, value):
    rows = [*fill_rows(1), {col: value, "Fill Id": "F9"}]
    err = _err(lambda: parse_propreports_fills(write("f.csv", csv_text(FILLS_26, rows))))
    assert (err.row, err.column) == (3, col)
    assert "absurd value" in err.message or "not a number" in err.message


def test_fractional_seconds_are_kept(write):
    rows = [{"Date/Time": "01/02/2024 09:39:29.400890", "Fill Id": "F1"},
            {"Date/Time": "01/02/2024 09:39:29.5", "Fill Id": "F2"},
            {"Date/Time": "01/02/2024 09:39:30", "Fill Id": "F3"}]
    fills = parse_propreports_fills(write("f.csv", csv_text(FILLS_26, rows)))
    assert fills["ts"].tolist() == [pd.Timestamp("2024-01-02 14:39:29.400890", tz="UTC"),
                                    pd.Timestamp("2024-01-02 14:39:29.500000", tz="UTC"),
                                    pd.Timestamp("2024-01-02 14:39:30", tz="UTC")]
