"""The firm's contracts file (``--contracts`` / ``RISK_CONTRACTS``): roots added or overridden
for every mapping, the mapping's own ``contracts:`` winning over it, and its errors naming the
file and the line before anything lands.

Hand-computed P&L: the MES round trips of broker_samples.MES_FILLS move 3.25 x 2 + 3.50 + 2.50
= 12.50 points in all on the 2025-01-23 session, so a root of point value 25 gives
12.50 x 25 = $312.50 gross (fees stay $0.50 a contract a side: $4.00)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from risk_dagster.core.settings import Settings, load_settings, to_environ
from risk_dagster.defs.build import build_resources
from risk_dagster.ingest import parse_file
from risk_dagster.ingest.batch import land_files
from risk_dagster.ingest.mapping import PRESETS_DIR
from risk_dagster_tests.ingest.broker_samples import MES_DATE, MES_FEES, tradovate_csv

from .test_stream import streamed_only

FIRM = ("contracts:\n"
        "  XYZ: {name: Firm product, point_value: 25, tick_size: 0.25, currency: USD,"
        " calendar: CMES}\n"
        "  MES: {point_value: 50, tick_size: 0.25, calendar: CMES}\n")


@pytest.fixture
def firm(tmp_path: Path) -> Path:
    path = tmp_path / "firm_contracts.yaml"
    path.write_text(FIRM)
    return path


def test_a_root_of_the_firm_file_gives_its_point_value(write, firm):
    parsed = parse_file(write("t.csv", tradovate_csv(contract="XYZH5")), "tradovate",
                        calendar="XNYS", contracts=firm)
    assert (parsed.fills["multiplier"] == 25.0).all()
    assert set(parsed.fills["trade_date"]) == {MES_DATE}  # dated by the root's CMES calendar
    assert parsed.totals["gross_pnl"].tolist() == [pytest.approx(312.50)]
    assert parsed.totals["fees"].tolist() == [pytest.approx(MES_FEES)]


def test_the_firm_file_overrides_a_shipped_root(write, firm):
    parsed = parse_file(write("t.csv", tradovate_csv()), "tradovate", calendar="XNYS",
                        contracts=firm)
    assert (parsed.fills["multiplier"] == 50.0).all()  # MES is 5 in the shipped table
    assert parsed.totals["gross_pnl"].tolist() == [pytest.approx(12.50 * 50)]
    shipped = parse_file(write("t2.csv", tradovate_csv()), "tradovate", calendar="XNYS")
    assert (shipped.fills["multiplier"] == 5.0).all()  # without it, as shipped


def test_the_mappings_own_contracts_file_wins_over_the_firms(write, firm, tmp_path):
    (tmp_path / "own.yaml").write_text(
        "contracts:\n  XYZ: {point_value: 7, tick_size: 0.5, currency: USD, calendar: CMES}\n")
    mapping = tmp_path / "tv.yaml"
    mapping.write_text((PRESETS_DIR / "tradovate.yaml").read_text().replace(
        "name: tradovate", "name: tv") + "contracts: own.yaml\n")
    parsed = parse_file(write("t.csv", tradovate_csv(contract="XYZH5")), str(mapping),
                        calendar="XNYS", contracts=firm)
    assert (parsed.fills["multiplier"] == 7.0).all()
    assert parsed.totals["gross_pnl"].tolist() == [pytest.approx(12.50 * 7)]
    # the firm's other roots still apply to that mapping
    again = parse_file(write("m.csv", tradovate_csv()), str(mapping), calendar="XNYS",
                       contracts=firm)
    assert (again.fills["multiplier"] == 50.0).all()


def test_ingest_lands_with_the_firm_file_streamed(tmp_path, firm, monkeypatch):
    streamed_only(monkeypatch)
    export = tmp_path / "tradovate_fills.csv"
    export.write_text(tradovate_csv(contract="XYZH5"))
    said: list[str] = []
    out = land_files(tmp_path / "data", [export], "tradovate", calendar="XNYS",
                     first_date=dt.date(2025, 1, 2), today=dt.date(2025, 6, 30), contracts=firm,
                     say=said.append)
    assert [r.status for r in out.results] == ["landed"], said
    (landed,) = (tmp_path / "data" / "landing" / "fills").glob("date=2025-01-23/*.parquet")
    fills = pq.read_table(landed).to_pandas()
    assert fills["multiplier"].tolist() == [25.0] * 7
    assert fills["notional"].iloc[0] == pytest.approx(1 * 6095.00 * 25)


@pytest.mark.parametrize("text, where", [
    ("contracts:\n  XYZ:\n    point_value: -5\n    tick_size: 0.25\n    calendar: CMES\n",
     "firm_contracts.yaml, line 3, column 'contracts.XYZ.point_value': must be a number > 0 "
     "(got -5)"),
    ("contracts:\n  XYZ: {point_value: 5, tick_size: 0.25, calendar: CMES}\n"
     "  ABC: {point_value: 5, tick_size: 0.25, calender: CMES}\n",
     "firm_contracts.yaml, line 3, column 'contracts.ABC.calender': unknown key (typo?)"),
    ("contracts:\n  XYZ: {point_value: 5, tick_size: 0.25, calendar: CMES\n",
     "firm_contracts.yaml, line 3: YAML syntax error: expected ',' or '}', but got '<stream "
     "end>'"),
])
def test_a_bad_firm_file_refuses_the_batch_naming_file_and_line(tmp_path, text, where):
    bad = tmp_path / "firm_contracts.yaml"
    bad.write_text(text)
    export = tmp_path / "tradovate_fills.csv"
    export.write_text(tradovate_csv())
    said: list[str] = []
    out = land_files(tmp_path / "data", [export], "tradovate", calendar="XNYS", contracts=bad,
                     say=said.append)
    assert out.refused and not out.results
    assert said[0] == f"REFUSED --contracts: {where}"
    assert said[1].startswith("Nothing was ingested: 1 file(s) left untouched")
    assert not (tmp_path / "data" / "landing").exists() and export.exists()


def test_a_missing_firm_file_refuses_the_batch(tmp_path):
    export = tmp_path / "tradovate_fills.csv"
    export.write_text(tradovate_csv())
    said: list[str] = []
    out = land_files(tmp_path / "data", [export], "tradovate", calendar="XNYS",
                     contracts=tmp_path / "nope.yaml", say=said.append)
    assert out.refused
    assert said[0] == ("REFUSED --contracts: nope.yaml: no such contracts file: "
                       f"{tmp_path / 'nope.yaml'}")


def test_risk_contracts_is_a_setting_and_reaches_the_inbox(tmp_path, firm):
    settings = load_settings({"RISK_CONTRACTS": str(firm), "RISK_DATA_DIR": str(tmp_path)})
    assert settings.contracts_file == firm.resolve()
    assert load_settings(to_environ(settings)) == settings
    assert load_settings({}).contracts_file is None
    source = build_resources(settings)["source"]
    assert source.contracts_file == str(firm.resolve())  # what inbox_ingest_job passes on
    assert build_resources(dataclasses.replace(settings, contracts_file=None))[
        "source"].contracts_file is None
    assert Settings().contracts_file is None


def test_ingest_contracts_option_sets_the_setting(tmp_path, firm, monkeypatch):
    from risk_dagster import cli, pipeline

    seen = {}
    monkeypatch.setattr(cli, "_load", lambda settings: (None, None))
    monkeypatch.setattr(pipeline, "ingest_files",
                        lambda settings, *a, **kw: seen.setdefault("settings", settings) and 0)
    monkeypatch.delenv("RISK_CONTRACTS", raising=False)
    assert cli.main(["--data-dir", str(tmp_path / "d"), "ingest", "x.csv", "--source",
                     "tradovate", "--contracts", str(firm), "--quiet"]) == 0
    assert seen["settings"].contracts_file == firm.resolve()


def test_a_mapping_given_by_path_brings_its_own_contracts_file(tmp_path):
    """Installed as <data>/mappings/<name>.yaml, the mapping still finds its contracts file (it
    is installed beside it), so the inbox reads later drops the same way."""
    own = tmp_path / "conf" / "own.yaml"
    own.parent.mkdir()
    own.write_text(
        "contracts:\n  XYZ: {point_value: 7, tick_size: 0.5, currency: USD, calendar: CMES}\n")
    mapping = tmp_path / "conf" / "tv.yaml"
    mapping.write_text((PRESETS_DIR / "tradovate.yaml").read_text().replace(
        "name: tradovate", "name: tv") + "contracts: own.yaml\n")
    export = tmp_path / "tv_fills.csv"
    export.write_text(tradovate_csv(contract="XYZH5"))
    said: list[str] = []
    out = land_files(tmp_path / "data", [export], str(mapping), calendar="XNYS",
                     first_date=dt.date(2025, 1, 2), today=dt.date(2025, 6, 30), say=said.append)
    assert [r.status for r in out.results] == ["landed"], said
    installed = tmp_path / "data" / "mappings"
    assert sorted(p.name for p in installed.iterdir()) == ["tv.contracts.yaml", "tv.yaml"]
    (landed,) = (tmp_path / "data" / "landing" / "fills").glob("date=2025-01-23/*.parquet")
    assert pq.read_table(landed)["multiplier"].to_pylist() == [7.0] * 7
    own.unlink()  # a later drop reads the installed copies only
    again = tmp_path / "data" / "inbox" / "tv" / "later.csv"
    again.write_text(tradovate_csv(contract="XYZM5").replace(",E", ",L"))
    from risk_dagster.ingest.inbox import process_inbox_file

    result = process_inbox_file(again, "tv", tmp_path / "data", calendar="XNYS",
                                first_date=dt.date(2025, 1, 2), today=dt.date(2025, 6, 30))
    assert result.status == "landed", result.error


def test_a_mapping_naming_a_missing_contracts_file_refuses_the_batch(tmp_path):
    mapping = tmp_path / "tv.yaml"
    mapping.write_text((PRESETS_DIR / "tradovate.yaml").read_text().replace(
        "name: tradovate", "name: tv") + "contracts: gone.yaml\n")
    export = tmp_path / "tv_fills.csv"
    export.write_text(tradovate_csv())
    said: list[str] = []
    out = land_files(tmp_path / "data", [export], str(mapping), calendar="XNYS",
                     say=said.append)
    assert out.refused and said[0] == ("REFUSED --source: gone.yaml: no such contracts file: "
                                       f"{tmp_path / 'gone.yaml'}")
