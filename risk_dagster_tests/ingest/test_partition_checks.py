import datetime as dt

import pandas as pd

from risk_dagster.ingest.partition_checks import blocking_failures, check_fills, reconcile_totals
from risk_dagster_tests.factories import make_fills, totals_from

DAY = dt.date(2024, 1, 3)


def _failed(outcomes):
    return {o.name for o in outcomes if not o.passed}


def test_clean_partition_passes():
    fills = make_fills([DAY], ["T1", "T2"])
    assert _failed(check_fills(fills, {DAY}, "XNYS")) == set()
    assert reconcile_totals(fills, totals_from(fills)).passed


def test_each_defect_is_caught():
    fills = make_fills([DAY], ["T1"])
    bad = fills.copy()
    bad.loc[0, "qty"] = 0
    bad.loc[1, "side"] = "X"
    bad.loc[2, "fill_id"] = bad.loc[3, "fill_id"]
    bad.loc[4, "ts"] = bad.loc[4, "ts"] + pd.Timedelta(days=1)
    bad.loc[5, "trader_id"] = "a/b"
    failed = _failed(check_fills(bad, {DAY}, "XNYS"))
    assert failed == {"fills_positive_price_qty", "fills_known_sides", "fills_unique",
                      "fills_in_partition", "fills_valid_trader_ids"}
    assert {o.name for o in blocking_failures(check_fills(bad, {DAY}, "XNYS"))} == failed


def test_missing_column_fails_schema():
    fills = make_fills([DAY], ["T1"]).drop(columns=["price"])
    outcomes = check_fills(fills, {DAY}, "XNYS")
    assert [o.name for o in outcomes] == ["fills_schema"] and not outcomes[0].passed


def test_date_outside_partition():
    fills = make_fills([DAY], ["T1"])
    assert "fills_in_partition" in _failed(check_fills(fills, {dt.date(2024, 1, 4)}, "XNYS"))


def test_reconciliation_flags_a_missing_fill():
    fills = make_fills([DAY], ["T1", "T2"])
    totals = totals_from(fills)
    outcome = reconcile_totals(fills.iloc[1:], totals)
    assert not outcome.passed and outcome.failures == 1 and not outcome.blocking


def test_timestamp_on_the_next_calendar_day_fails_even_across_a_weekend():
    friday, monday = dt.date(2024, 1, 5), dt.date(2024, 1, 8)
    fills = make_fills([friday, monday], ["T1"])
    ok = {o.name: o for o in check_fills(fills, {friday, monday}, "XNYS")}
    assert ok["fills_in_partition"].passed
    moved = fills.copy()
    moved.loc[0, "ts"] = moved.loc[0, "ts"] + pd.Timedelta(days=1)  # Saturday, dated Friday
    out = {o.name: o for o in check_fills(moved, {friday, monday}, "XNYS")}
    assert not out["fills_in_partition"].passed and out["fills_in_partition"].failures == 1
    # 23:30 New York on Friday is 04:30 UTC on Saturday: still Friday's session date
    late = fills.copy()
    late.loc[0, "ts"] = pd.Timestamp("2024-01-05 23:30", tz="America/New_York").tz_convert("UTC")
    assert {o.name: o for o in check_fills(late, {friday, monday}, "XNYS")}["fills_in_partition"].passed
