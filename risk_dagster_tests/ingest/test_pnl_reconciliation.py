"""Reported gross P&L reconciled with the fills' FIFO realized P&L: a blocking check."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import dagster as dg
import pyarrow.compute as pc

from risk_dagster.core.lake import Lake
from risk_dagster.core.schemas import TOTALS
from risk_dagster.defs.partitions import RANGE_END_TAG, RANGE_START_TAG
from risk_dagster.defs.resources import LakeResource, TradeSource
from risk_dagster.ingest.inbox import land
from risk_dagster.ingest.partition_checks import reconcile_fifo_pnl
from risk_dagster.ingest.raw_partitions import FIFO_LOTS, BlockingCheckFailure, ingest_batches
from risk_dagster.simulator import SimulationConfig, iter_simulation
from risk_dagster_tests.factories import date_assets, make_fills, totals_from

raw_trades = date_assets()["raw_trades"]

D1, D2, D3 = dt.date(2024, 1, 3), dt.date(2024, 1, 4), dt.date(2024, 1, 5)
CHECK = "totals_gross_matches_fills_fifo"


def test_totals_off_by_1000_fail_naming_the_trader_day():
    fills = make_fills([D1, D2], ["T1", "T2"])
    totals = totals_from(fills)
    assert reconcile_fifo_pnl(fills, totals).passed
    off = totals.copy()
    hit = (off.trade_date == D2) & (off.trader_id == "T2")
    off.loc[hit, ["gross_pnl", "net_pnl"]] += 1000.0
    outcome = reconcile_fifo_pnl(fills, off)
    assert not outcome.passed and outcome.blocking and outcome.failures == 1
    assert "2024-01-04|T2" in outcome.detail
    assert outcome.examples[0]["trader_id"] == "T2"
    assert float(outcome.examples[0]["gross_diff"]) == 1000.0


def test_fees_are_compared_when_the_fills_carry_them():
    fills = make_fills([D1], ["T1"])
    totals = totals_from(fills)
    totals["fees"] += 2.0
    totals["net_pnl"] -= 2.0
    outcome = reconcile_fifo_pnl(fills, totals)
    assert not outcome.passed and "2024-01-03|T1" in outcome.detail


def _one_round_trip_over_two_days():
    """T1 buys 100 on D1 at 100.00 and sells them on D2 at 101.50: D2 realizes $150."""
    fills = make_fills([D1, D2], ["T1"], per_day=2)
    d1, d2 = fills.trade_date == D1, fills.trade_date == D2
    fills = fills[(d1 & (fills.side == "B")) | (d2 & (fills.side == "S"))].reset_index(drop=True)
    fills.loc[fills.side == "B", "price"] = 100.0
    fills.loc[fills.side == "S", "price"] = 101.5
    fills["notional"] = fills["qty"] * fills["price"]
    totals = totals_from(fills)
    totals["gross_pnl"] = [0.0, 150.0]
    totals["net_pnl"] = totals["gross_pnl"] - totals["fees"]
    totals["total_delta"] = totals["net_pnl"]
    return fills, TOTALS.conform(totals)


def _batch(fills, totals, dates):
    return SimpleNamespace(dates=dates, fills=fills[fills.trade_date.isin(dates)],
                           totals=totals[totals.trade_date.isin(dates)], truth=None)


def test_positions_carry_across_chunks_and_across_runs(tmp_path):
    fills, totals = _one_round_trip_over_two_days()
    lake = Lake(tmp_path / "a")
    stats = ingest_batches([_batch(fills, totals, [D1]), _batch(fills, totals, [D2])], lake,
                           [D1, D2], "XNYS", with_truth=False)
    assert stats.outcomes[CHECK].passed
    # a second run of D2 alone rebuilds the open lot from the stored D1
    stats = ingest_batches([_batch(fills, totals, [D2])], lake, [D2], "XNYS", with_truth=False)
    assert stats.outcomes[CHECK].passed
    # without D1 stored, the D2 sale has no lot: the $150 cannot be explained
    fresh = Lake(tmp_path / "b")
    try:
        ingest_batches([_batch(fills, totals, [D2])], fresh, [D2], "XNYS", with_truth=False)
        raise AssertionError("expected a blocking failure")
    except BlockingCheckFailure as exc:
        assert CHECK in str(exc) and "2024-01-04|T1" in str(exc)


def test_blocking_asset_check_fails_the_run_and_stores_nothing(tmp_path):
    fills = make_fills([D1, D2], ["T1", "T2"])
    totals = totals_from(fills)
    totals.loc[(totals.trade_date == D1) & (totals.trader_id == "T1"),
               ["gross_pnl", "net_pnl", "total_delta"]] -= 1000.0
    land(tmp_path, "fills", "test", "b1", fills)
    land(tmp_path, "totals", "test", "b1", totals)
    resources = {"lake": LakeResource(data_dir=str(tmp_path)),
                 "source": TradeSource(kind="landing", data_dir=str(tmp_path))}
    with dg.instance_for_test() as instance:
        result = dg.materialize([raw_trades], instance=instance, resources=resources,
                                tags={RANGE_START_TAG: D1.isoformat(),
                                      RANGE_END_TAG: D2.isoformat()}, raise_on_error=False)
    assert not result.success
    failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
    message = failure.event_specific_data.error.message
    assert CHECK in message and "2024-01-03|T1 (gross" in message
    assert Lake(tmp_path).keys("raw_totals", "date") == []


def test_the_simulators_own_output_reconciles(tmp_path):
    """Simulated fills and totals over 3 months; swing traders carry positions overnight, so
    forgetting the lots carried from one chunk to the next makes 11 trader-days differ."""
    cfg = SimulationConfig(n_traders=12, start=dt.date(2024, 1, 2), end=dt.date(2024, 3, 29),
                           seed=3)
    batches = [SimpleNamespace(dates=sorted(pc.unique(b.truth["trade_date"]).to_pylist()),
                               fills=b.fills, totals=b.totals, truth=b.truth)
               for b in iter_simulation(cfg, chunk_sessions=20)]
    dates = sorted({d for b in batches for d in b.dates})
    stats = ingest_batches(batches, Lake(tmp_path), dates, "XNYS", with_truth=True)
    outcome = stats.outcomes[CHECK]
    assert outcome.passed, outcome.detail
    assert stats.totals > 500 and stats.derived == 0


def test_tolerance_is_configured_on_the_source(tmp_path):
    """A $0.50 rounding difference fails at the default $0.05 and passes at a $1 tolerance."""
    fills = make_fills([D1], ["T1"])
    totals = totals_from(fills)
    totals[["gross_pnl", "net_pnl", "total_delta"]] += 0.5
    land(tmp_path, "fills", "test", "b1", fills)
    land(tmp_path, "totals", "test", "b1", totals)
    tags = {RANGE_START_TAG: D1.isoformat(), RANGE_END_TAG: D1.isoformat()}
    with dg.instance_for_test() as instance:
        for tolerance, ok in [(0.05, False), (1.0, True)]:
            source = TradeSource(kind="landing", data_dir=str(tmp_path),
                                 pnl_tolerance_usd=tolerance)
            result = dg.materialize([raw_trades], instance=instance, tags=tags,
                                    resources={"lake": LakeResource(data_dir=str(tmp_path)),
                                               "source": source}, raise_on_error=False)
            assert result.success is ok


def test_a_morning_run_opens_from_the_lots_stored_at_the_last_close(tmp_path):
    """T1 buys 100 on 2024-01-03 at 100.00 and holds them until 2024-01-09 (sold at 101.50,
    $150). Each morning ingests one date; the lots at the previous close open it, so a
    lookback window shorter than the holding (2 days here) no longer forgets the lot."""
    buy, sell = dt.date(2024, 1, 3), dt.date(2024, 1, 9)
    held = [buy, dt.date(2024, 1, 4), dt.date(2024, 1, 5), dt.date(2024, 1, 8)]
    fills = make_fills([buy, sell], ["T1"], per_day=2)
    fills = fills[((fills.trade_date == buy) & (fills.side == "B"))
                  | ((fills.trade_date == sell) & (fills.side == "S"))].reset_index(drop=True)
    fills["price"] = fills["side"].map({"B": 100.0, "S": 101.5})
    fills["notional"] = fills["qty"] * fills["price"]
    totals = totals_from(fills)
    totals["gross_pnl"] = [0.0, 150.0]
    totals["net_pnl"] = totals["gross_pnl"] - totals["fees"]
    totals["total_delta"] = totals["net_pnl"]
    totals = TOTALS.conform(totals)
    lake = Lake(tmp_path)

    def morning(day):
        return ingest_batches([_batch(fills, totals, [day])], lake, [day], "XNYS",
                              with_truth=False, lookback_days=2)

    # the history up to 01-08 in one run (exact: nothing stored before it), then 01-09 alone
    ingest_batches([_batch(fills, totals, held)], lake, held, "XNYS", with_truth=False,
                   lookback_days=2)
    assert lake.keys(FIFO_LOTS, "date") == ["2024-01-08"]
    lots = lake.read_df(FIFO_LOTS, "date", ["2024-01-08"])
    assert lots[["trader_id", "side", "qty", "unit_value"]].values.tolist() == [
        ["T1", 1.0, 100.0, 100.0]]
    assert morning(sell).outcomes[CHECK].passed
    assert lake.keys(FIFO_LOTS, "date") == ["2024-01-08", "2024-01-09"]
    # re-ingesting an earlier date drops the lots after it (they followed the old fills) ...
    morning(buy)
    assert lake.keys(FIFO_LOTS, "date") == ["2024-01-03"]
    # ... and 01-09 rolls the 01-03 lots over the stored 01-04..01-08
    assert morning(sell).outcomes[CHECK].passed
    # without stored lots the 2-day window starts flat on 01-07: the sale has no lot
    for key in lake.keys(FIFO_LOTS, "date"):
        lake.delete(FIFO_LOTS, "date", key)
    try:
        morning(sell)
        raise AssertionError("expected a blocking failure")
    except BlockingCheckFailure as exc:
        assert CHECK in str(exc) and "2024-01-09|T1 (gross 150.00 vs fills 0.00)" in str(exc)
