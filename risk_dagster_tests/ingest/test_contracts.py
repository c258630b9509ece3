"""Futures contract table, symbol parsing and CME Globex session dating."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from risk_dagster.core.calendar import fill_session_dates
from risk_dagster.ingest import IngestError
from risk_dagster.ingest.contracts import (UnknownContract, load_contracts, parse_symbol,
                                           read_contracts)


@pytest.mark.parametrize("symbol, root, month, year", [
    ("MESH5", "MES", 3, 5), ("MESM25", "MES", 6, 2025), ("ESZ2024", "ES", 12, 2024),
    ("/ESH5", "ES", 3, 5), ("mnqz24", "MNQ", 12, 2024), ("6EH5", "6E", 3, 5),
    ("ZNH25", "ZN", 3, 2025), ("M2KU4", "M2K", 9, 4), ("MGCZ4", "MGC", 12, 4),
    ("MES 03-25", "MES", 3, 2025), ("ES", "ES", None, None),
])
def test_parse_symbol(symbol, root, month, year):
    parsed = parse_symbol(symbol)
    assert (parsed.root, parsed.month, parsed.year) == (root, month, year)


@pytest.mark.parametrize("symbol", ["MES-H5", "ESH202", "MES 13-25", "ES H5", ""])
def test_parse_symbol_refuses_other_shapes(symbol):
    with pytest.raises(UnknownContract):
        parse_symbol(symbol)


# (root, point value USD per 1.0 of price, tick size, tick value USD) from CME Group's specs.
SPECS = [
    ("ES", 50, 0.25, 12.50), ("MES", 5, 0.25, 1.25), ("NQ", 20, 0.25, 5.00),
    ("MNQ", 2, 0.25, 0.50), ("YM", 5, 1.0, 5.00), ("MYM", 0.5, 1.0, 0.50),
    ("RTY", 50, 0.1, 5.00), ("M2K", 5, 0.1, 0.50), ("CL", 1000, 0.01, 10.00),
    ("MCL", 100, 0.01, 1.00), ("GC", 100, 0.1, 10.00), ("MGC", 10, 0.1, 1.00),
    ("SI", 5000, 0.005, 25.00), ("HG", 25000, 0.0005, 12.50), ("NG", 10000, 0.001, 10.00),
    ("ZN", 1000, 1 / 64, 15.625), ("ZB", 1000, 1 / 32, 31.25), ("ZF", 1000, 1 / 128, 7.8125),
    ("6E", 125000, 0.00005, 6.25), ("6J", 12_500_000, 0.0000005, 6.25),
    ("6B", 62500, 0.0001, 6.25), ("6A", 100000, 0.00005, 5.00), ("ZC", 50, 0.25, 12.50),
    ("ZS", 50, 0.25, 12.50), ("ZW", 50, 0.25, 12.50), ("BTC", 5, 5, 25.00),
    ("MBT", 0.1, 5, 0.50), ("ETH", 50, 0.5, 25.00),
]


@pytest.mark.parametrize("root, point, tick, tick_value", SPECS)
def test_shipped_specs(root, point, tick, tick_value):
    spec = load_contracts().specs[root]
    assert spec.point_value == point and spec.tick_size == pytest.approx(tick)
    assert spec.tick_value == pytest.approx(tick_value)
    assert spec.currency == "USD" and spec.calendar == "CMES"


def test_resolve_and_refuse_unknown_root():
    table = load_contracts()
    assert table.resolve("MESH5").point_value == 5
    assert table.resolve("/ESZ2024").point_value == 50
    with pytest.raises(UnknownContract, match="unknown futures root 'XYZ'.*never guessed"):
        table.resolve("XYZH5")


def test_user_yaml_adds_and_overrides(tmp_path):
    extra = tmp_path / "mine.yaml"
    extra.write_text("contracts:\n  SR3: {name: 3M SOFR, point_value: 2500, tick_size: 0.005,"
                     " currency: USD, calendar: CMES}\n  ES: {point_value: 50, tick_size: 0.25,"
                     " calendar: CMES, name: mine}\n")
    table = load_contracts(extra)
    assert table.resolve("SR3H5").point_value == 2500
    assert table.resolve("ESH5").name == "mine"
    assert "SR3" not in load_contracts()  # the shipped table is unchanged


@pytest.mark.parametrize("entry, key, message", [
    ("{tick_size: 0.25, calendar: CMES}", "contracts.XX.point_value", "missing"),
    ("{point_value: -5, tick_size: 0.25, calendar: CMES}", "contracts.XX.point_value", "> 0"),
    ("{point_value: 5, tick_size: 0.25, calendar: NOPE}", "contracts.XX.calendar", "NOPE"),
    ("{point_value: 5, tick_size: 0.25, calendar: CMES, currency: EUR}",
     "contracts.XX.currency", "only USD"),
    ("{point_vale: 5, tick_size: 0.25, calendar: CMES}", "contracts.XX.point_vale", "typo"),
])
def test_bad_user_yaml_names_file_and_key(tmp_path, entry, key, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"contracts:\n  XX: {entry}\n")
    with pytest.raises(IngestError, match=message) as info:
        read_contracts(bad)
    assert info.value.column == key and "bad.yaml" in str(info.value)


def test_globex_session_dates_match_exchange_calendars():
    ts = pd.Series(pd.to_datetime([
        "2025-01-19 23:30",  # Sunday 17:30 Chicago -> Monday 2025-01-20 (MLK day, CME open)
        "2025-01-22 23:30",  # Wednesday 17:30 Chicago -> Thursday
        "2025-01-23 15:00",  # Thursday 09:00 Chicago -> Thursday
        "2025-01-23 23:00",  # the open of Friday's session
        "2025-01-25 12:00",  # Saturday, closed -> next session Monday
    ], utc=True))
    dates, outside = fill_session_dates(ts, "CMES")
    assert [d.date() for d in dates] == [dt.date(2025, 1, 20), dt.date(2025, 1, 23),
                                         dt.date(2025, 1, 23), dt.date(2025, 1, 24),
                                         dt.date(2025, 1, 27)]
    assert outside.tolist() == [False, False, False, False, True]
    # an equity calendar keeps the local date, whatever the hour
    nyse, _ = fill_session_dates(ts, "XNYS")
    assert nyse.iloc[1].date() == dt.date(2025, 1, 22)
