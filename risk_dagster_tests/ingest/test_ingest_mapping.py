"""Broker CSVs through a column-mapping YAML, including the real Hyperliquid sample end to end."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from risk_dagster.core.schemas import FILLS, TOTALS
from risk_dagster.ingest import (IngestError, ParsedFile, load_mapping, parse_file,
                                 parse_mapped_fills)

# the shared data beside the checkout (../shared), as in test_real_sample.py
REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real" / "hyperliquid_fills.csv"

MAPPING = """\
name: mybroker
account: Acct
time: {column: When, format: "%Y-%m-%d %H:%M:%S", timezone: Europe/London}
symbol: Ticker
side: {column: Action, values: {BOT: B, SLD: S, SSHORT: T}}
quantity: Shares
price: Px
fees: [Commission, Exchange Fee]
order_id: OrderRef
fill_id: ExecId
liquidity: {column: Liq, values: {M: add, T: remove}}
"""
HEADER = "Acct,When,Ticker,Action,Shares,Px,Commission,Exchange Fee,OrderRef,ExecId,Liq\n"


@pytest.fixture
def mapping_path(tmp_path: Path) -> Path:
    path = tmp_path / "mybroker.yaml"
    path.write_text(MAPPING)
    return path


def test_mapped_fills_custom_broker(write, mapping_path):
    path = write("b.csv", HEADER + "A1,2024-07-01 23:30:00,VOD,BOT,10,1.5,1.0,0.25,R1,E1,M\n"
                                   "A1,2024-07-02 08:00:00,VOD,SSHORT,5,1.6,1.0,0,R2,E2,X\n")
    fills = parse_mapped_fills(path, load_mapping(mapping_path))
    assert fills["ts"].tolist() == [pd.Timestamp("2024-07-01 22:30", tz="UTC"),
                                    pd.Timestamp("2024-07-02 07:00", tz="UTC")]
    assert fills["trade_date"].tolist() == [dt.date(2024, 7, 1), dt.date(2024, 7, 2)]  # UTC
    assert fills[["side", "short_sale"]].values.tolist() == [["B", False], ["S", True]]
    assert fills["fees"].tolist() == [1.25, 1.0]
    assert fills["liquidity"].tolist() == ["add", None]
    assert fills["fill_id"].tolist() == ["E1", "E2"] and set(fills["source"]) == {"mybroker"}
    assert any("liquidity value(s)" in w for w in fills.attrs["ingest_warnings"])


def test_mapping_without_timezone_is_an_error(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(MAPPING.replace(", timezone: Europe/London", ""))
    with pytest.raises(IngestError) as info:
        load_mapping(path)
    assert (info.value.file, info.value.column) == ("m.yaml", "time.timezone")


def test_mapping_with_offsets_needs_them_on_every_row(write, tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(MAPPING.replace('%Y-%m-%d %H:%M:%S", timezone: Europe/London',
                                    '%Y-%m-%d %H:%M:%S%z"'))
    good = write("g.csv", HEADER + "A1,2024-07-01 23:30:00+02:00,VOD,BOT,10,1.5,1,0,R1,E1,M\n")
    assert parse_mapped_fills(good, path)["ts"].tolist() == [pd.Timestamp("2024-07-01 21:30",
                                                                          tz="UTC")]
    bad = write("b.csv", HEADER + "A1,2024-07-01 23:30:00+02:00,VOD,BOT,10,1.5,1,0,R1,E1,M\n"
                                  "A1,2024-07-01 23:31:00,VOD,BOT,10,1.5,1,0,R1,E2,M\n")
    with pytest.raises(IngestError) as info:
        parse_mapped_fills(bad, path)
    assert info.value.row == 3 and "mixed timezones" in info.value.message


def test_unknown_mapping_key_and_preset(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(MAPPING + "quantitty: Shares\n")
    with pytest.raises(IngestError, match="unknown key"):
        load_mapping(path)
    with pytest.raises(IngestError, match="presets: .*hyperliquid"):
        load_mapping("nosuchbroker")


@pytest.fixture(scope="module")
def real() -> ParsedFile:
    if not REAL.exists():
        pytest.skip("shared/data/real is not beside the checkout")
    return parse_file(REAL, "hyperliquid", calendar="24/7")


def test_real_hyperliquid_sample_end_to_end(real):
    fills = real.fills
    assert (real.kind, real.rows, real.source, real.derived_totals) == (
        "fills", 15629, "hyperliquid", True)
    assert len(fills) == 15629 and fills["fill_id"].is_unique
    assert fills["trader_id"].nunique() == 4
    assert fills["liquidity"].value_counts().to_dict() == {"remove": 10215, "add": 5414}
    assert (fills["qty"] > 0).all() and (fills["price"] > 0).all()
    assert fills["qty"].min() < 1e-4  # scientific notation read ("1.00E-05"-style sizes)
    assert real.warnings == ["hyperliquid_fills.csv: kept 1 fill(s) with Direction "
                             "'Spot Dust Conversion' (first on line 191) as ordinary fills"]
    # First row: 02-12-2024 22:50 IST = 17:20 UTC.
    assert fills.loc[0, "ts"] == pd.Timestamp("2024-12-02 17:20", tz="UTC")
    ts_dates = fills["ts"].dt.tz_convert("UTC").dt.date
    assert (fills["trade_date"] == ts_dates).all()  # 24/7: trade_date is the UTC date
    pd.testing.assert_frame_equal(FILLS.conform(fills), fills)


def test_real_sample_derived_totals_reconcile(real):
    fills, totals = real.fills, real.totals
    assert list(totals.columns) == TOTALS.names and totals["derived"].all()
    assert totals["fills"].sum() == 15629
    assert totals["gross_pnl"].sum() == pytest.approx(fills["realized_pnl"].sum())
    assert totals["fees"].sum() == pytest.approx(fills["fees"].sum())
    by_day = fills.groupby(["trade_date", "trader_id"])["order_id"].nunique()
    assert totals.set_index(["trade_date", "trader_id"])["orders"].sort_index().tolist() == \
        by_day.sort_index().tolist()
    np.testing.assert_allclose(totals["net_pnl"], totals["gross_pnl"] - totals["fees"])
    assert set(totals["trader_id"]) == set(fills["trader_id"])


def test_ignored_columns_may_be_absent_but_used_ones_may_not(write):
    header = ("Account,Coin,Execution Price,Size Tokens,Side,Timestamp IST,Start Position,"
              "Direction,Closed PnL,Order ID,Crossed,Fee\n")
    row = "0xabc,BTC,1.00E+05,1.00E-05,BUY,02-12-2024 5:30,0,Open Long,0,7,FALSE,0.01\r\n"
    fills = parse_mapped_fills(write("h.csv", header + row), "hyperliquid")
    assert fills[["qty", "price", "liquidity"]].values.tolist() == [[1e-05, 1e05, "add"]]
    assert fills.loc[0, "ts"] == pd.Timestamp("2024-12-02 00:00", tz="UTC")  # 05:30 IST
    with pytest.raises(IngestError) as info:
        parse_mapped_fills(write("h2.csv", header.replace("Start Position", "Start") + row),
                           "hyperliquid")
    assert (info.value.row, info.value.column) == (1, "Start Position")
