"""The bad-input corpus: every kind of hostile file is rejected, named (file, line, column where
there is one), kept in rejected/ with its .error.txt, and the landing zone stays byte-identical."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from risk_dagster.ingest.inbox import LANDING, process_inbox_file

from .samples import FILLS_22, FILLS_26, csv_text, fill_rows

TOTALS = "Date,Account,Orders,Fills,Qty,Gross,Comm,Net\n"


def fills(*rows: dict, columns=FILLS_26) -> bytes:
    """A fills export: F1, F2 good, then ``rows`` (ids F10.. unless given)."""
    extra = [{"Fill Id": f"F{10 + i}", "Order Id": f"O{10 + i}", **r} for i, r in enumerate(rows)]
    return csv_text(columns, [*fill_rows(2), *extra]).encode()


def _xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("fills.csv", "a,b\n1,2\n")
    return out.getvalue()


_BODY = csv_text(FILLS_26, fill_rows(3)).splitlines()
XLSX_ROW = ["01/02/2024 09:30:00", "T0001", "B", "ten", "AAPL", 185.5, "ARCA", "A", 0.5, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, "O9", "F9", 9]

# (kind, file name, content, line, column, words in the message)
CORPUS = [
    ("negative_qty", "f.csv", fills({"Qty": "-5"}), 4, "Qty", "quantity must be > 0"),
    ("zero_price", "f.csv", fills({"Price": "0"}), 4, "Price", "price must be > 0"),
    ("text_qty", "f.csv", fills({"Qty": "ten"}), 4, "Qty", "not a number"),
    ("missing_column", "f.csv", csv_text([c for c in FILLS_26 if c != "Symbol"], fill_rows(1)
                                         ).encode(), 1, "Symbol", "missing"),
    ("renamed_column", "f.csv", fills().replace(b"Order Id", b"OrderID", 1), 1, "Order Id",
     "OrderID"),
    ("repeated_column", "f.csv", fills().replace(b"Route", b"Symbol", 1), 1, "Symbol",
     "appears 2 times"),
    ("empty_file", "f.csv", b"", None, None, "empty file"),
    ("whitespace_file", "f.csv", b"  \n\n", None, None, "empty file"),
    ("header_only", "f.csv", (",".join(FILLS_26) + "\n").encode(), None, None, "no data rows"),
    ("truncated_last_line", "f.csv", fills()[:-40], 3, None, "truncated line?"),
    ("short_record", "f.csv", "\n".join([_BODY[0], _BODY[1], "T0001,B,100", _BODY[2]]).encode(),
     3, None, "expected 26 fields, got 3"),
    ("unknown_side", "f.csv", fills({"B/S": "X"}), 4, "B/S", "unknown value 'X'"),
    ("duplicate_id_other_content", "f.csv", fills({"Fill Id": "F2", "Qty": "7"}), 4, "Fill Id",
     "duplicate of line 3"),
    ("mixed_timezones", "f.csv", fills({"Date/Time": "01/02/2024 09:31:00-0500"}), 4,
     "Date/Time", "mixed timezones"),
    ("dst_gap", "f.csv", fills({"Date/Time": "03/10/2024 02:30:00"}), 4, "Date/Time",
     "does not exist"),
    ("unreadable_time", "f.csv", fills({"Date/Time": "yesterday"}), 4, "Date/Time",
     "cannot read time"),
    ("empty_time", "f.csv", fills({"Date/Time": ""}), 4, "Date/Time", "empty timestamp"),
    ("bad_account", "f.csv", fills({"Account": "bad id!"}), 4, "Account", ""),
    ("empty_account", "f.csv", fills({"Account": ""}), 4, "Account", "empty value"),
    ("decimal_comma", "f.csv", fills({"Price": "81,33"}), 4, "Price",
     "is not a thousands separator"),
    ("impossible_date", "f.csv", fills({"Date/Time": "02/30/2024 10:00:00"}), 4, "Date/Time",
     "impossible date"),
    ("absurd_qty", "f.csv", fills({"Qty": "1e308"}), 4, "Qty", "absurd value"),
    ("infinite_price", "f.csv", fills({"Price": "inf"}), 4, "Price", ""),
    ("nan_fee", "f.csv", fills({"Comm": "NaN"}), 4, "Comm", "not a number"),
    ("old_xls", "f.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, None, None,
     "Excel 97-2003"),
    ("pdf", "f.csv", b"%PDF-1.7\n%...", None, None, "a PDF document"),
    ("gzip", "f.csv.gz", gzip.compress(fills()), None, None, "a gzip archive"),
    ("parquet", "f.parquet", b"PAR1\x15\x04\x15", None, None, "a Parquet file"),
    ("nul_bytes", "f.csv", b"Date/Time,Account\x00\x00\x00\x01\x02", None, None, "binary content"),
    ("utf16_without_bom", "f.csv", fills().decode().encode("utf-16-le"), None, None,
     "UTF-16 text without a byte-order mark"),
    ("damaged_zip", "f.xlsx", b"PK\x03\x04broken", None, None, "damaged ZIP"),
    ("zip_not_workbook", "f.zip", _zip(), None, None, "not an .xlsx workbook"),
    ("xlsx_text_qty", "f.xlsx", _xlsx([FILLS_22, XLSX_ROW[:19] + XLSX_ROW[19:]]), 2, "Qty",
     "not a number"),
    ("future_date", "f.csv", fills({"Date/Time": "07/02/2024 10:00:00"}), 4, "time",
     "in the future"),
    ("weekend_only", "f.csv", csv_text(FILLS_26, fill_rows(2, **{"Date/Time": "01/06/2024 10:00"})
                                       ).encode(), 2, "time", "not XNYS sessions"),
    ("year_1985", "f.csv", fills({"Date/Time": "01/02/1985 10:00:00"}), 4, "time",
     "before 2000-01-01"),
    ("before_start_date", "f.csv", fills({"Date/Time": "12/29/2023 10:00:00"}), 4, "time",
     "before the first date partition 2024-01-02"),
    ("totals_net_mismatch", "t.csv", (TOTALS + "01/02/2024,T0001,1,2,100,50.00,1.00,45.00\n"
                                      ).encode(), 2, "Net", "Net != Gross - fees"),
    ("totals_no_account", "t.csv", b"Date,Orders,Fills,Qty,Gross,Comm,Net\n"
     b"01/02/2024,1,2,100,50.00,1.00,49.00\n", None, "Account", "no Account column"),
    ("totals_bad_total_row", "t.csv", (TOTALS + "01/02/2024,T0001,1,2,100,50.00,1.00,49.00\n"
                                       "Equities,,,,,,,99.00\n").encode(), 3, "Net",
     "is not the sum of its day rows on line 2"),
    ("totals_impossible_date", "t.csv", (TOTALS + "02/30/2024,T0001,1,2,100,50.00,1.00,49.00\n"
                                         ).encode(), 2, "Date", "impossible date"),
    ("totals_fractional_count", "t.csv", (TOTALS + "01/02/2024,T0001,1.5,2,100,50.00,1.00,49.00\n"
                                          ).encode(), 2, "Orders", "whole number"),
    ("only_report_lines", "t.csv", (TOTALS + "Equities,,,,,,,\nPage 1/1\n").encode(), None, None,
     "only report lines"),
    ("missing_page", "f.csv", "\n".join([_BODY[0], _BODY[1], "Page 1/3", _BODY[2], "Page 3/3"]
                                        ).encode(), 3, None, "a page is missing"),
    ("rows_after_footer", "f.csv", "\n".join([_BODY[0], _BODY[1], "Page 1/1", _BODY[2]]).encode(),
     3, None, "data rows after the last page footer"),
    ("wrong_date_header", "f.csv", "\n".join([_BODY[0], "01/03/2024", _BODY[1]]).encode(), 3,
     "Date/Time", "under the date header '01/03/2024' on line 2"),
    ("odd_first_cell_line", "f.csv", "\n".join([_BODY[0], "12:00" + "," * 25, _BODY[1]]).encode(),
     2, None, "neither a date nor a section header"),
    ("conflicts_with_landed", "f.csv", fills({"Fill Id": "L1", "Qty": "999", "Account": "T0009"}), 4, "qty",
     "already landed from landed.csv with a different qty"),
    ("id_landed_on_other_date", "f.csv", fills({"Fill Id": "L1",
                                                "Date/Time": "01/03/2024 10:00:00"}), 4,
     "fill id", "already landed on 2024-01-02"),
    ("re_export_losing_fills", "f.csv", csv_text(FILLS_26, [{"Fill Id": "L1", "Order Id": "OL1",
                                                             "Account": "T0009"}]).encode(),
     2, None, "lacks 1 fill(s) landed from landed.csv"),
]


def _snapshot(data: Path) -> dict[str, str]:
    root = data / LANDING
    return {str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("corpus")
    good = data / "inbox" / "propreports" / "landed.csv"
    good.parent.mkdir(parents=True)
    good.write_text(csv_text(FILLS_26, [{"Fill Id": f"L{i}", "Order Id": f"OL{i}",
                                         "Account": "T0009"} for i in (1, 2)]))
    assert process_inbox_file(good, "propreports", data, calendar="XNYS").status == "landed"
    return data


def test_corpus_has_at_least_40_kinds():
    kinds = [c[0] for c in CORPUS]
    assert len(kinds) >= 40 and len(set(kinds)) == len(kinds)


@pytest.mark.parametrize("kind,name,content,line,column,words", CORPUS,
                         ids=[c[0] for c in CORPUS])
def test_bad_file_is_rejected_named_kept_and_changes_nothing(lake, kind, name, content, line,
                                                            column, words):
    before = _snapshot(lake)
    name = f"{kind}-{name}"
    path = lake / "inbox" / "propreports" / name
    path.write_bytes(content)
    result = process_inbox_file(path, "propreports", lake, calendar="XNYS",
                                first_date=dt.date(2024, 1, 2), today=dt.date(2024, 6, 28))
    assert result.status == "rejected"
    assert result.error.startswith(name + (f", line {line}" if line else "")), result.error
    if column is not None:
        assert f"column {column!r}" in result.error, result.error
    else:
        assert not re.search(r", column '", result.error.split(":")[0])
    assert words in result.error
    assert "Traceback" not in result.error
    kept = lake / "rejected" / "propreports" / name
    assert result.moved_to == kept and kept.read_bytes() == content and not path.exists()
    assert (kept.parent / f"{name}.error.txt").read_text().startswith(result.error)
    assert _snapshot(lake) == before
