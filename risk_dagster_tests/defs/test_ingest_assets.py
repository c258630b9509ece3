import datetime as dt

import dagster as dg
import pytest

from risk_dagster.core.lake import Lake
from risk_dagster.defs.assets.ingest import trader_registry
from risk_dagster.defs.partitions import TRADER_PARTITIONS_NAME
from risk_dagster.defs.resources import LakeResource, TradeSource
from risk_dagster.ingest.inbox import land
from risk_dagster.defs.partitions import RANGE_END_TAG, RANGE_START_TAG
from risk_dagster_tests.factories import date_assets, make_fills, totals_from

raw_trades = date_assets()["raw_trades"]

D1, D2, D3 = dt.date(2024, 1, 3), dt.date(2024, 1, 4), dt.date(2024, 1, 5)


def _materialize(tmp_path, instance, first, last, chunk_sessions=20):
    resources = {"lake": LakeResource(data_dir=str(tmp_path)),
                 "source": TradeSource(kind="landing", data_dir=str(tmp_path),
                                       chunk_sessions=chunk_sessions)}
    return dg.materialize([raw_trades, trader_registry], instance=instance, resources=resources,
                          tags={RANGE_START_TAG: first, RANGE_END_TAG: last}, raise_on_error=False)


def test_range_run_stores_every_date_once_and_reruns_replace(tmp_path):
    fills = make_fills([D1, D2, D3], ["T1", "T2"])
    land(tmp_path, "fills", "test", "batch1", fills)
    land(tmp_path, "totals", "test", "batch1", totals_from(fills[fills.trade_date != D3]))
    lake = Lake(tmp_path)
    with dg.instance_for_test() as instance:
        result = _materialize(tmp_path, instance, D1.isoformat(), D3.isoformat())
        assert result.success
        assert lake.keys("raw_fills", "date") == ["2024-01-03", "2024-01-04", "2024-01-05"]
        totals = lake.read_df("raw_totals", "date")
        assert len(totals) == 6 and totals["derived"].sum() == 2  # D3 had no reported totals
        checks = result.get_asset_check_evaluations()
        assert checks and all(c.passed for c in checks)
        assert sorted(instance.get_dynamic_partitions(TRADER_PARTITIONS_NAME)) == ["T1", "T2"]

        # the same run again: nothing doubled
        assert _materialize(tmp_path, instance, D1.isoformat(), D3.isoformat()).success
        assert len(lake.read_df("raw_fills", "date")) == len(fills)

        # a corrected re-export of D2 for T1, landed with replace (--replace), replaces the
        # earlier one; without it the batches of a day are merged by fill id
        corrected = make_fills([D2], ["T1"], per_day=2, seed=5)
        land(tmp_path, "fills", "test", "batch2", corrected, replace=True)
        # the stored D2 totals of T1 no longer match its fills: the FIFO check refuses them ...
        assert not _materialize(tmp_path, instance, D2.isoformat(), D2.isoformat()).success
        # ... until the corrected totals come with them
        land(tmp_path, "totals", "test", "batch2", totals_from(corrected), replace=True)
        assert _materialize(tmp_path, instance, D2.isoformat(), D2.isoformat()).success
        d2 = lake.read_df("raw_fills", "date", ["2024-01-04"])
        assert (d2.trader_id == "T1").sum() == 2 and (d2.trader_id == "T2").sum() == 6


def test_blocking_failure_leaves_stored_partitions_untouched(tmp_path):
    good = make_fills([D1], ["T1"])
    land(tmp_path, "fills", "test", "good", good)
    lake = Lake(tmp_path)
    with dg.instance_for_test() as instance:
        assert _materialize(tmp_path, instance, D1.isoformat(), D1.isoformat()).success
        before = lake.read_df("raw_fills", "date")
        bad = good.copy()
        bad.loc[0, "qty"] = -5.0
        land(tmp_path, "fills", "test", "bad", bad)
        result = _materialize(tmp_path, instance, D1.isoformat(), D1.isoformat())
        assert not result.success
        failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
        assert "fills_positive_price_qty" in failure.event_specific_data.error.message
        after = lake.read_df("raw_fills", "date")
        assert after.equals(before)


def test_failure_in_a_late_chunk_replaces_nothing(tmp_path):
    fills = make_fills([D1, D2, D3], ["T1"])
    land(tmp_path, "fills", "test", "a", fills)
    lake = Lake(tmp_path)
    with dg.instance_for_test() as instance:
        assert _materialize(tmp_path, instance, D1.isoformat(), D3.isoformat()).success
        before = lake.read_df("raw_fills", "date")
        changed = make_fills([D1, D2, D3], ["T1"], seed=9)  # new prices on every day ...
        changed.loc[changed.trade_date == D3, "side"] = "Z"  # ... and a bad side on the last
        land(tmp_path, "fills", "test", "b", changed)
        assert not _materialize(tmp_path, instance, D1.isoformat(), D3.isoformat(),
                                chunk_sessions=1).success
        assert lake.read_df("raw_fills", "date").equals(before)  # D1, D2 not replaced either


@pytest.mark.parametrize("tid", ["a/b", "x|y"])
def test_invalid_trader_never_becomes_a_partition(tmp_path, tid):
    fills = make_fills([D1], ["T1"])
    fills.loc[:, "trader_id"] = tid
    land(tmp_path, "fills", "test", "b", fills)
    with dg.instance_for_test() as instance:
        assert not _materialize(tmp_path, instance, D1.isoformat(), D1.isoformat()).success
        assert instance.get_dynamic_partitions(TRADER_PARTITIONS_NAME) == []
        assert not (tmp_path / "raw_fills").exists()


def test_raw_fills_metadata_counts_skipped_bad_rows(tmp_path):
    from risk_dagster.ingest.inbox import process_inbox_file
    from risk_dagster_tests.ingest.samples import FILLS_26, csv_text, fill_rows

    path = tmp_path / "inbox" / "propreports" / "f.csv"
    path.parent.mkdir(parents=True)
    path.write_text(csv_text(FILLS_26, [*fill_rows(2, **{"Date/Time": "01/03/2024 10:00:00"}),
                                        {"Fill Id": "X", "Qty": "ten",
                                         "Date/Time": "01/03/2024 10:00:00"}]))
    result = process_inbox_file(path, "propreports", tmp_path, calendar="XNYS", skip_bad_rows=1)
    assert (result.status, result.rows, result.bad_rows) == ("landed", 2, 1)
    with dg.instance_for_test() as instance:
        run = _materialize(tmp_path, instance, D1.isoformat(), D1.isoformat())
        assert run.success
        [meta] = [m.metadata for m in run.asset_materializations_for_node("raw_trades")
                  if m.asset_key == dg.AssetKey("raw_fills")]
        assert (meta["rows"].value, meta["bad_rows_skipped"].value,
                meta["landed_files"].value) == (2, 1, 1)
