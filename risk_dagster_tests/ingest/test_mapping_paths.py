"""Custom mappings by absolute or relative path, their name as the source, YAML errors with
file and line, and the ingest batch refusing bad paths before anything lands."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from risk_dagster.ingest import IngestError, load_mapping
from risk_dagster.ingest.batch import land_files

MAPPING = """\
name: mybroker
account: Acct
time: {column: When, format: "%Y-%m-%d %H:%M:%S", timezone: Europe/London}
symbol: Ticker
side: {column: Action, values: {BOT: B, SLD: S}}
quantity: Shares
price: Px
order_id: OrderRef
fill_id: ExecId
"""
CSV = ("Acct,When,Ticker,Action,Shares,Px,OrderRef,ExecId\n"
       "T0001,2024-01-02 15:00:00,VOD,BOT,100,0.75,R1,E1\n"
       "T0001,2024-01-02 15:05:00,VOD,SLD,100,0.76,R2,E2\n")


def _err(fn) -> IngestError:
    with pytest.raises(IngestError) as info:
        fn()
    return info.value


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(MAPPING.replace("symbol: Ticker", "symbol: [Ticker"))
    err = _err(lambda: load_mapping(path))
    assert err.file == "broken.yaml" and err.row in (4, 5)
    assert err.message.startswith("YAML syntax error")


def test_unknown_timezone_names_file_line_and_key(tmp_path):
    path = tmp_path / "tz.yaml"
    path.write_text(MAPPING.replace("Europe/London", "Europe/Londn"))
    err = _err(lambda: load_mapping(path))
    assert (err.file, err.row, err.column) == ("tz.yaml", 3, "time.timezone")
    assert "unknown timezone 'Europe/Londn'" in err.message


def test_missing_key_names_its_line_when_it_has_one(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(MAPPING.replace("values: {BOT: B, SLD: S}", "values: {BOT: X}"))
    err = _err(lambda: load_mapping(path))
    assert (err.row, err.column) == (5, "side.values")


def test_name_must_be_a_plain_name(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(MAPPING.replace("name: mybroker", "name: ../../evil"))
    err = _err(lambda: load_mapping(path))
    assert (err.row, err.column) == (1, "name") and "not a plain name" in err.message


def test_mapping_by_relative_and_absolute_path_uses_its_name(tmp_path, monkeypatch):
    elsewhere = tmp_path / "configs"
    elsewhere.mkdir()
    (elsewhere / "broker.yaml").write_text(MAPPING)
    export = tmp_path / "export.csv"
    export.write_text(CSV)
    data = tmp_path / "work" / "data"
    data.mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "work")
    for source in ("../configs/broker.yaml", str(elsewhere / "broker.yaml")):
        said: list[str] = []
        out = land_files(data, [export], source, calendar="XLON", first_date=dt.date(2024, 1, 2),
                         today=dt.date(2024, 6, 28), say=said.append)
        assert out.source == "mybroker" and not out.refused, said
        assert [r.status for r in out.results] == ["landed"], said
    assert (data / "mappings" / "mybroker.yaml").read_text() == MAPPING
    assert sorted(p.name for p in (data / "archive").iterdir()) == ["mybroker"]
    # nothing was written outside the data directory, nor beside the mapping or the export
    assert sorted(p.name for p in tmp_path.iterdir()) == ["configs", "export.csv", "work"]
    assert sorted(p.name for p in elsewhere.iterdir()) == ["broker.yaml"]
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["data"]


def test_missing_path_or_directory_refuses_the_batch_before_anything_lands(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("Date,Account,Orders,Fills,Qty,Gross,Comm,Net\n"
                    "01/02/2024,T0001,1,2,100,50.00,1.00,49.00\n")
    said: list[str] = []
    out = land_files(tmp_path / "data", [good, tmp_path / "nope.csv", tmp_path], "propreports",
                     calendar="XNYS", say=said.append)
    assert out.refused and not out.results
    assert said[0] == f"REFUSED nope.csv: no such file: {tmp_path / 'nope.csv'}"
    assert said[1].startswith(f"REFUSED {tmp_path.name}: is a directory, not a file")
    assert said[2].startswith("Nothing was ingested: 3 file(s) left untouched")
    assert not (tmp_path / "data" / "landing").exists() and good.exists()


def test_broken_mapping_refuses_the_batch(tmp_path):
    (tmp_path / "m.yaml").write_text("name: x\ntime: [\n")
    export = tmp_path / "e.csv"
    export.write_text(CSV)
    said: list[str] = []
    out = land_files(tmp_path / "data", [export], str(tmp_path / "m.yaml"), calendar="XNYS",
                     say=said.append)
    assert out.refused and said[0].startswith("REFUSED --source: m.yaml, line ")
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").rglob("*.parquet"))


def test_other_files_fate_is_said(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("Date,Account,Orders,Fills,Qty,Gross,Comm,Net\n"
                    "01/02/2024,T0001,1,2,100,50.00,1.00,49.00\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Account,Orders,Fills,Qty,Gross,Comm,Net\n"
                   "01/02/2024,T0002,1,2,100,50.00,1.00,40.00\n")
    said: list[str] = []
    out = land_files(tmp_path / "data", [good, bad], "propreports", calendar="XNYS",
                     first_date=dt.date(2024, 1, 2), today=dt.date(2024, 6, 28), say=said.append)
    assert [r.status for r in out.results] == ["landed", "rejected"]
    assert said[0] == f"landed {good}: 1 totals rows, 1 dates"
    assert said[1].startswith(f"REJECTED {bad}: bad.csv, line 2, column 'Net'")
    assert said[-1] == (f"1 of 2 file(s) landed; 1 rejected (kept in "
                        f"{tmp_path / 'data' / 'rejected' / 'propreports'})")
    assert os.path.exists(tmp_path / "data" / "rejected" / "propreports" / "bad.csv.error.txt")
