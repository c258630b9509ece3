"""drift_retrain_sensor at scale: a tick with thousands of flagged traders asks the instance
for the trader partitions once, not once per trader (Dagster's tick limit is 60 s)."""

import datetime as dt

import dagster as dg
import pandas as pd

from risk_dagster.core.lake import Lake
from risk_dagster.definitions import defs
from risk_dagster.defs.partitions import PARTITION_TAG, TRADER_PARTITIONS_NAME
from risk_dagster.defs.resources import LakeResource
from risk_dagster.defs.sensors import drift_retrain_sensor
from risk_dagster.monitoring.retrain import run_key

DAY = dt.date(2025, 6, 2)


def _drift_report(root, traders: list[str], flagged: set[str]) -> None:
    Lake(root).write("drift_report", "date", DAY.isoformat(), pd.DataFrame({
        "trade_date": [DAY] * len(traders), "trader_id": traders,
        "retrain": [t in flagged for t in traders],
        "retrain_reason": ["drift" if t in flagged else None for t in traders],
        "retrain_detail": ["KS on 4 of 30 features" if t in flagged else None for t in traders],
        "run_key": [run_key(t, DAY, "drift") if t in flagged else None for t in traders]}))


def test_a_tick_with_3000_flagged_traders_queries_the_partitions_once(tmp_path, monkeypatch):
    registered = [f"T{i:05d}" for i in range(1, 3001)]
    # every registered trader flagged, plus one that is not a partition (it is skipped)
    _drift_report(tmp_path, [*registered, "X0001", "T09999"], {*registered, "X0001"})
    calls = {"has_dynamic_partition": 0, "get_dynamic_partitions": 0,
             "get_existing_dynamic_partitions": 0}
    for name in calls:
        original = getattr(dg.DagsterInstance, name)

        def counting(self, *args, _original=original, _name=name, **kwargs):
            calls[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(dg.DagsterInstance, name, counting)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(TRADER_PARTITIONS_NAME, registered)
        # instance_ref and the definitions, as the code server evaluates a tick for the daemon
        with dg.build_sensor_context(instance_ref=instance.get_ref(), definitions=defs,
                                     resources={"lake": LakeResource(data_dir=str(tmp_path))}
                                     ) as ctx:
            data = drift_retrain_sensor.evaluate_tick(ctx)
    assert calls == {"has_dynamic_partition": 0, "get_dynamic_partitions": 1,
                     "get_existing_dynamic_partitions": 0}
    assert [r.partition_key for r in data.run_requests] == registered
    first = data.run_requests[0]
    assert first.tags[PARTITION_TAG] == "T00001"
    assert first.run_key == "retrain:T00001:2025-W23:drift"
    assert first.tags["risk/retrain_reason"] == "drift"
    assert first.tags["risk/drift_report_date"] == "2025-06-02"
    assert first.tags["dagster/sensor_name"] == "drift_retrain_sensor"
    assert all(r.tags[PARTITION_TAG] == r.partition_key for r in data.run_requests)
    assert data.cursor == "2025-06-02"


def test_a_report_with_nothing_flagged_requests_nothing_and_moves_the_cursor(tmp_path):
    _drift_report(tmp_path, ["T00001", "T00002"], set())
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(TRADER_PARTITIONS_NAME, ["T00001", "T00002"])
        with dg.build_sensor_context(instance=instance,
                                     resources={"lake": LakeResource(data_dir=str(tmp_path))}
                                     ) as ctx:
            result = drift_retrain_sensor(ctx)
    assert result.run_requests == [] and result.cursor == "2025-06-02"
