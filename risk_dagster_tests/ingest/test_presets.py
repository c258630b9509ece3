"""Broker presets (tradovate, ninjatrader, ibkr_flex) on files written from their documented
columns; the MES round trips must give $62.50 gross on the 2025-01-23 session."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from risk_dagster.core.lake import Lake
from risk_dagster.defs.partitions import RANGE_END_TAG, RANGE_START_TAG
from risk_dagster.defs.resources import LakeResource, TradeSource
from risk_dagster.ingest import IngestError, parse_file, parse_propreports_totals
from risk_dagster.ingest.inbox import INBOX, process_inbox_file
from risk_dagster_tests.factories import date_assets
from risk_dagster_tests.ingest.broker_samples import (MES_DATE, MES_FEES, MES_GROSS,
                                                      ibkr_flex_csv, ninjatrader_csv,
                                                      tradovate_csv)

raw_trades = date_assets()["raw_trades"]


@pytest.mark.parametrize("preset, text", [("tradovate", tradovate_csv()),
                                          ("ninjatrader", ninjatrader_csv())])
def test_futures_presets_date_globex_sessions_and_use_the_point_value(write, preset, text):
    parsed = parse_file(write(f"{preset}.csv", text), preset, calendar="XNYS")
    fills = parsed.fills
    assert len(fills) == 7 and set(fills["trade_date"]) == {MES_DATE}  # incl. 17:30 CT the eve
    assert (fills["multiplier"] == 5.0).all() and (fills["asset_class"] == "future").all()
    assert (fills["calendar"] == "CMES").all()
    first = fills.iloc[0]
    assert first["notional"] == pytest.approx(1 * 6095.00 * 5)
    totals = parsed.totals
    assert len(totals) == 1 and totals["trade_date"].iloc[0] == MES_DATE
    assert totals["gross_pnl"].iloc[0] == pytest.approx(MES_GROSS)
    assert totals["fees"].iloc[0] == pytest.approx(MES_FEES)
    assert not any("not XNYS sessions" in w or "not CMES" in w for w in parsed.warnings)


def test_ninjatrader_reads_the_contract_month_form(write):
    fills = parse_file(write("nt.csv", ninjatrader_csv()), "ninjatrader", calendar="XNYS").fills
    assert set(fills["symbol"]) == {"MES 03-25"}
    assert fills["fill_id"].tolist() == ["E1", "E2", "E3", "E4", "E5", "E6", "E7"]


def test_ibkr_flex_mixes_stocks_and_futures_in_one_account(write):
    parsed = parse_file(write("flex.csv", ibkr_flex_csv()), "ibkr_flex", calendar="XNYS")
    f = parsed.fills.set_index("fill_id")
    assert f.loc["T1", "asset_class"] == "equity" and f.loc["T1", "multiplier"] == 1.0
    assert f.loc["T1", "calendar"] is None  # dated by the partitions' calendar (XNYS)
    assert f.loc["T2", "side"] == "S" and f.loc["T2", "qty"] == 100  # signed quantity read
    assert f.loc["T1", "fees"] == pytest.approx(1.0)  # IBCommission -1.00 is a $1 cost
    assert f.loc["FE1", "multiplier"] == 5.0 and f.loc["FE1", "calendar"] == "CMES"
    assert set(parsed.fills["trade_date"]) == {MES_DATE}
    # gross = AAPL $125 + MES $62.50, from IBKR's own FifoPnlRealized
    assert parsed.totals["gross_pnl"].iloc[0] == pytest.approx(125.0 + MES_GROSS)
    assert parsed.totals["fees"].iloc[0] == pytest.approx(2.0 + MES_FEES)


def test_unknown_root_is_refused_naming_line_and_column(write):
    path = write("t.csv", tradovate_csv(contract="XYZH5"))
    with pytest.raises(IngestError, match="unknown futures root 'XYZ'") as info:
        parse_file(path, "tradovate", calendar="XNYS")
    assert info.value.row == 2 and info.value.column == "contractName"


def test_signed_quantity_must_agree_with_the_side(write):
    text = ibkr_flex_csv().replace(",-100,223.35,", ",100,223.35,")
    with pytest.raises(IngestError, match="disagrees with the side") as info:
        parse_file(write("flex.csv", text), "ibkr_flex", calendar="XNYS")
    assert info.value.row == 3 and info.value.column == "Quantity"


def _store_landed(data_dir: Path, day: str) -> dg.ExecuteInProcessResult:
    """raw_trades of ``day`` from the landing zone of ``data_dir`` (the run must succeed)."""
    resources = {"lake": LakeResource(data_dir=str(data_dir)),
                 "source": TradeSource(kind="landing", data_dir=str(data_dir))}
    with dg.instance_for_test() as instance:
        run = dg.materialize([raw_trades], instance=instance, resources=resources,
                             tags={RANGE_START_TAG: day, RANGE_END_TAG: day})
    assert run.success
    return run


def test_tradovate_file_stores_62_50_gross_on_the_session(tmp_path):
    """End to end: inbox -> landing -> raw_trades; the stored raw_totals say $62.50."""
    inbox = tmp_path / INBOX / "tradovate"
    inbox.mkdir(parents=True)
    (inbox / "fills.csv").write_text(tradovate_csv())
    result = process_inbox_file(inbox / "fills.csv", "tradovate", tmp_path, calendar="XNYS")
    assert result.status != "rejected", result.error
    assert list(result.dates) == [MES_DATE.isoformat()]
    day = MES_DATE.isoformat()
    run = _store_landed(tmp_path, day)
    assert all(c.passed for c in run.get_asset_check_evaluations())
    lake = Lake(tmp_path)
    totals = lake.read_df("raw_totals", "date", [day])
    assert totals["gross_pnl"].tolist() == [pytest.approx(MES_GROSS)]
    assert totals["net_pnl"].tolist() == [pytest.approx(MES_GROSS - MES_FEES)]
    fills = lake.read_df("raw_fills", "date", [day])
    assert np.allclose(fills["multiplier"], 5.0) and len(fills) == 7


def test_propreports_end_balance_is_one_per_account_day(write):
    text = ("Date,Account,Type,Orders,Fills,Qty,Gross,Comm,Net,End Balance\n"
            "01/03/2024,ACC1,Equities,2,4,400,50.00,1.00,49.00,\"25,049.00\"\n"
            "01/03/2024,ACC1,Options,1,2,2,10.00,0.50,9.50,\"25,049.00\"\n"
            "01/04/2024,ACC1,Equities,1,2,200,-20.00,1.00,-21.00,\"25,028.00\"\n")
    totals = parse_propreports_totals(write("t.csv", text))
    assert totals["end_balance"].tolist() == [25_049.0, 25_028.0]
    assert totals["gross_pnl"].tolist() == [60.0, -20.0]


@pytest.mark.parametrize("extra, key, message", [
    ("asset_class: futures\n", "asset_class", "unknown asset class 'futures'"),
    ("asset_class: {column: AssetClass, values: {FUT: fut}}\n", "asset_class.values",
     "unknown asset class 'fut'"),
    ("fee_sign: minus\n", "fee_sign", "must be positive or negative"),
    ("calendar: NOPE\n", "calendar", "unknown calendar 'NOPE'"),
])
def test_bad_futures_keys_name_the_mapping_and_key(tmp_path, extra, key, message):
    from risk_dagster.ingest import load_mapping
    from risk_dagster.ingest.mapping import PRESETS_DIR

    base = (PRESETS_DIR / "tradovate.yaml").read_text().replace("asset_class: future\n", "")
    path = tmp_path / "mine.yaml"
    path.write_text(base + extra)
    with pytest.raises(IngestError, match=message) as info:
        load_mapping(path)
    assert info.value.column == key and info.value.file == "mine.yaml"


def test_contracts_file_named_in_a_mapping_adds_roots(tmp_path):
    from risk_dagster.ingest.mapping import PRESETS_DIR

    (tmp_path / "extra.yaml").write_text(
        "contracts:\n  XYZ: {point_value: 7, tick_size: 0.5, currency: USD, calendar: CMES}\n")
    mapping = tmp_path / "tv.yaml"
    mapping.write_text((PRESETS_DIR / "tradovate.yaml").read_text().replace(
        "name: tradovate", "name: tv") + "contracts: extra.yaml\n")
    data = tmp_path / "t.csv"
    data.write_text(tradovate_csv(contract="XYZH5"))
    fills = parse_file(data, str(mapping), calendar="XNYS").fills
    assert (fills["multiplier"] == 7.0).all() and set(fills["source"]) == {"tv"}


def test_a_firm_mixes_equity_futures_and_crypto_accounts(tmp_path):
    """One data directory, XNYS partitions: a PropReports equity account, a Tradovate futures
    account (dated by CME Globex: the Wednesday-evening fill is Thursday's) and a Hyperliquid
    crypto wallet (a 24/7 venue: dated by the firm calendar, a weekend fill refused by date)."""
    day = MES_DATE.isoformat()  # Thursday 2025-01-23
    files = {
        "propreports": ("equity.csv",
                        "Date/Time,Account,B/S,Qty,Symbol,Price,Comm,Order Id,Fill Id\n"
                        "01/23/2025 10:00:00,T0001,B,100,AAPL,222.10,1.00,O1,P1\n"
                        "01/23/2025 15:00:00,T0001,S,100,AAPL,223.35,1.00,O2,P2\n"),
        "tradovate": ("futures.csv", tradovate_csv()),
        "hyperliquid": ("crypto.csv",
                        "Account,Coin,Execution Price,Size Tokens,Side,Timestamp IST,"
                        "Start Position,Direction,Closed PnL,Order ID,Crossed,Fee\r\n"
                        "0xabc,BTC,100000,0.01,BUY,23-01-2025 21:00,0,Open Long,0,7,TRUE,0.5\r\n"
                        "0xabc,BTC,101000,0.01,SELL,23-01-2025 23:30,0.01,Close Long,10,8,TRUE,"
                        "0.5"),
    }
    for source, (name, text) in files.items():
        inbox = tmp_path / INBOX / source
        inbox.mkdir(parents=True)
        (inbox / name).write_text(text)
        result = process_inbox_file(inbox / name, source, tmp_path, calendar="XNYS")
        assert (result.status, result.dates) == ("landed", [day]), result.error
    weekend = tmp_path / INBOX / "hyperliquid" / "saturday.csv"
    weekend.write_text(files["hyperliquid"][1].replace("23-01-2025", "25-01-2025"))
    refused = process_inbox_file(weekend, "hyperliquid", tmp_path, calendar="XNYS")
    assert refused.status == "rejected" and "2025-01-25" in refused.error
    _store_landed(tmp_path, day)
    fills = Lake(tmp_path).read_df("raw_fills", "date", [day])
    by_trader = fills.groupby("trader_id").agg(n=("fill_id", "size"),
                                               cls=("asset_class", "first"),
                                               cal=("calendar", "first"),
                                               mult=("multiplier", "first"))
    equity = fills[fills["trader_id"] == "T0001"]
    assert len(equity) == 2 and equity["calendar"].isna().all()  # the firm's calendar (XNYS)
    assert by_trader.loc["ACC1", ["n", "cls", "cal", "mult"]].tolist() == [7, "future", "CMES",
                                                                           5.0]
    assert by_trader.loc["0xabc", ["n", "cls", "mult"]].tolist() == [2, "crypto", 1.0]
    totals = Lake(tmp_path).read_df("raw_totals", "date", [day]).set_index("trader_id")
    assert totals.loc["ACC1", "gross_pnl"] == pytest.approx(MES_GROSS)
    assert totals.loc["0xabc", "gross_pnl"] == pytest.approx(10.0)
