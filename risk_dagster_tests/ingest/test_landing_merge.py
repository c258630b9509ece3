"""Landing: the merge rule, --replace, --skip-bad-rows, dates outside the partitions, atomic
landing and a dead run's leftovers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from risk_dagster.ingest.inbox import (LANDING, clean_landing, land, landed_files,
                                       landing_summary, process_inbox_file, read_landed)

from .samples import FILLS_26, csv_text

TODAY = dt.date(2024, 6, 28)


def _drop(data: Path, name: str, rows, columns=FILLS_26) -> Path:
    path = data / "inbox" / "propreports" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(csv_text(columns, rows))
    return path


def _ingest(data: Path, name: str, rows, **kw):
    kw.setdefault("first_date", dt.date(2024, 1, 2))
    kw.setdefault("today", TODAY)
    return process_inbox_file(_drop(data, name, rows), "propreports", data, calendar="XNYS", **kw)


def _ids(data: Path, day="2024-01-02") -> list[str]:
    return sorted(read_landed(data, "fills", [day])["fill_id"].to_pylist())


def _rows(ids, **over):
    return [{"Fill Id": f, "Order Id": f"O{f}", **over} for f in ids]


def test_a_trader_day_split_over_two_files_keeps_every_fill(tmp_path):
    a = _ingest(tmp_path, "a.csv", _rows(["F1", "F2", "F3"]))
    b = _ingest(tmp_path, "b.csv", _rows(["F4", "F5"]))
    assert (a.status, b.status) == ("landed", "landed")
    assert _ids(tmp_path) == ["F1", "F2", "F3", "F4", "F5"]


def test_overlapping_file_merges_by_id_and_counts_duplicates(tmp_path):
    _ingest(tmp_path, "a.csv", _rows(["F1", "F2"]))
    b = _ingest(tmp_path, "b.csv", _rows(["F1", "F2", "F3"]))
    assert b.status == "landed" and b.duplicates == 2 and b.rows == 1
    assert "dropped 2 fill(s) already landed with the same content" in b.warnings[-1]
    assert _ids(tmp_path) == ["F1", "F2", "F3"]


def test_same_id_other_content_is_an_error_naming_line_and_column(tmp_path):
    _ingest(tmp_path, "a.csv", _rows(["F1", "F2"]))
    b = _ingest(tmp_path, "b.csv", [*_rows(["F3"]), *_rows(["F2"], Qty="200")])
    assert b.status == "rejected"
    assert b.error.startswith("b.csv, line 3, column 'qty': fill id 'F2' is already landed "
                              "from a.csv with a different qty (100.0 there, 200.0 here)")
    assert (b.moved_to.parent / "b.csv.error.txt").exists()
    assert _ids(tmp_path) == ["F1", "F2"]


def test_fill_id_on_another_date_is_refused(tmp_path):
    _ingest(tmp_path, "a.csv", _rows(["F1"]))
    b = _ingest(tmp_path, "b.csv", _rows(["F1"], **{"Date/Time": "01/03/2024 10:00:00"}))
    assert b.status == "rejected" and "line 2" in b.error
    assert "already landed on 2024-01-02 from a.csv: fill ids must be unique" in b.error


def test_re_export_that_drops_stored_fills_needs_replace(tmp_path):
    _ingest(tmp_path, "a.csv", _rows(["F1", "F2", "F3"]))
    b = _ingest(tmp_path, "b.csv", _rows(["F1", "F2"]))
    assert b.status == "rejected"
    assert ("re-exports T0001 on 2024-01-02 but lacks 1 fill(s) landed from a.csv (e.g. 'F3')"
            in b.error) and "--replace" in b.error
    assert _ids(tmp_path) == ["F1", "F2", "F3"]
    c = _ingest(tmp_path, "c.csv", [*_rows(["F1"]), *_rows(["F2"], Qty="50")], replace=True)
    assert c.status == "landed"
    got = read_landed(tmp_path, "fills", ["2024-01-02"]).to_pandas().sort_values("fill_id")
    assert got["fill_id"].tolist() == ["F1", "F2"] and got["qty"].tolist() == [100.0, 50.0]


def test_same_file_dropped_twice_is_idempotent(tmp_path):
    _ingest(tmp_path, "a.csv", _rows(["F1", "F2"]))
    again = _ingest(tmp_path, "a.csv", _rows(["F1", "F2"]))
    assert again.status == "landed" and again.duplicates == 0
    assert len(landed_files(tmp_path, "fills", "2024-01-02")) == 1
    assert _ids(tmp_path) == ["F1", "F2"]


@pytest.mark.parametrize("when,expected", [
    ("12/29/2023 10:00:00", "1 row(s) dated 2023-12-29: before the first date partition "
                            "2024-01-02; set RISK_START_DATE=2023-12-29"),
    ("07/01/2024 10:00:00", "1 row(s) dated 2024-07-01: in the future (today is 2024-06-28)"),
    ("01/06/2024 10:00:00", "1 row(s) dated 2024-01-06: not XNYS sessions (2024-01-06 Saturday); "
                            "a venue that trades every day needs --calendar 24/7"),
    ("01/02/1985 10:00:00", "1 row(s) dated 1985-01-02: before 2000-01-01"),
])
def test_rows_outside_the_partitions_refuse_the_file_naming_the_dates(tmp_path, when, expected):
    r = _ingest(tmp_path, "a.csv", [*_rows(["F1"]), *_rows(["F2"], **{"Date/Time": when})])
    assert r.status == "rejected"
    assert r.error.startswith(f"a.csv, line 3, column 'time': {expected}")
    assert not (tmp_path / LANDING / "fills").exists()


def test_skip_bad_rows_lands_the_good_rows_and_keeps_the_bad_ones(tmp_path):
    rows = [*_rows(["F1"]), *_rows(["F2"], Qty="ten"), *_rows(["F3"]),
            *_rows(["F4"], Price="-1")]
    strict = _ingest(tmp_path, "a.csv", rows)
    assert strict.status == "rejected" and "line 3, column 'Qty'" in strict.error
    one = _ingest(tmp_path, "b.csv", rows, skip_bad_rows=1)
    assert one.status == "rejected" and "more than --skip-bad-rows 1 bad rows" in one.error
    ok = _ingest(tmp_path, "c.csv", rows, skip_bad_rows=2)
    assert ok.status == "landed" and ok.rows == 2 and ok.bad_rows == 2
    assert _ids(tmp_path) == ["F1", "F3"]
    kept = ok.bad_rows_file.read_text().splitlines()
    assert ok.bad_rows_file.parent == tmp_path / "rejected" / "propreports"
    assert kept[0] == "line 3: c.csv, line 3, column 'Qty': not a number (got 'ten')"
    assert kept[1].strip().startswith("01/02/2024 09:30:00,T0001,B,ten,")
    assert kept[2].startswith("line 5: c.csv, line 5, column 'Price': price must be > 0")
    assert landing_summary(tmp_path, ["2024-01-02"]) == {
        "landed_files": 1, "bad_rows_skipped": 2, "duplicates_dropped": 0}


def test_landing_is_atomic_and_a_dead_runs_leftovers_are_ignored_then_cleaned(tmp_path):
    import pandas as pd

    from risk_dagster.ingest import parse_propreports_fills

    fills = parse_propreports_fills(_drop(tmp_path, "x.csv", _rows(["F1", "F2"])))
    land(tmp_path, "fills", "propreports", "good", fills, origin="x.csv")
    # a run killed mid-landing: one published file, its pending marker and its staging left
    dead = fills.copy()
    dead["fill_id"] = ["D1", "D2"]
    land(tmp_path, "fills", "propreports", "dead", dead, origin="dead.csv")
    marks = tmp_path / LANDING / "_batches"
    (marks / "propreports-dead.json").unlink()
    (marks / "propreports-dead.pending").write_text(json.dumps(
        {"targets": ["fills/date=2024-01-02/propreports-dead.parquet"]}))
    stage = tmp_path / LANDING / ".staging" / "propreports-dead-1234"
    stage.mkdir(parents=True)
    (stage / "part.parquet").write_bytes(b"partial")
    assert _ids(tmp_path) == ["F1", "F2"]  # the pending batch is not read
    assert clean_landing(tmp_path) == ["propreports-dead"]
    assert not (tmp_path / LANDING / "fills" / "date=2024-01-02" / "propreports-dead.parquet"
                ).exists()
    assert not stage.exists() and not list(marks.glob("*.pending"))
    assert isinstance(pd.Timestamp.now(), pd.Timestamp)


def test_totals_without_account_take_account_option(tmp_path):
    path = tmp_path / "inbox" / "propreports" / "t.csv"
    path.parent.mkdir(parents=True)
    path.write_text("Date,Orders,Fills,Qty,Gross,Comm,Net\n01/03/2024,1,2,100,50.00,1.00,49.00\n")
    no = process_inbox_file(path, "propreports", tmp_path, calendar="XNYS", today=TODAY)
    assert no.status == "rejected" and "column 'Account': no Account column" in no.error
    path = no.moved_to.rename(path)
    yes = process_inbox_file(path, "propreports", tmp_path, calendar="XNYS", account="T0042",
                             today=TODAY)
    assert yes.status == "landed"
    assert read_landed(tmp_path, "totals", ["2024-01-03"])["trader_id"].to_pylist() == ["T0042"]
