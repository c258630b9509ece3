"""5,000 traders: trader_registry adds every new trader partition in one call."""

import dagster as dg
import pandas as pd

from risk_dagster.core.lake import Lake
from risk_dagster.defs.assets.ingest import trader_registry
from risk_dagster.defs.partitions import TRADER_PARTITIONS_NAME
from risk_dagster.defs.resources import LakeResource


def _fills(root, traders: list[str], day: str) -> None:
    Lake(root).write("raw_fills", "date", day, pd.DataFrame({
        "trade_date": [pd.Timestamp(day).date()] * len(traders), "trader_id": traders,
        "fill_id": [f"{t}-1" for t in traders]}))


def test_registry_adds_5000_traders_in_one_call(tmp_path, monkeypatch):
    calls = []
    add = dg.DagsterInstance.add_dynamic_partitions

    def counting(self, partitions_def_name, partition_keys):
        calls.append((partitions_def_name, len(partition_keys)))
        return add(self, partitions_def_name, partition_keys)

    monkeypatch.setattr(dg.DagsterInstance, "add_dynamic_partitions", counting)
    traders = [f"T{i:05d}" for i in range(1, 5001)]
    resources = {"lake": LakeResource(data_dir=str(tmp_path))}
    with dg.instance_for_test() as instance:
        _fills(tmp_path, traders, "2024-01-02")
        assert dg.materialize([trader_registry], instance=instance, resources=resources).success
        assert calls == [(TRADER_PARTITIONS_NAME, 5000)]
        assert instance.get_dynamic_partitions(TRADER_PARTITIONS_NAME) == traders

        # The next day: 10 new traders join; one call with those 10 only.
        _fills(tmp_path, traders[:100] + [f"N{i:04d}" for i in range(10)], "2024-01-03")
        result = dg.materialize([trader_registry], instance=instance, resources=resources)
        assert calls[1:] == [(TRADER_PARTITIONS_NAME, 10)]
        meta = result.asset_materializations_for_node("trader_registry")[0].metadata
        assert meta["traders"].value == 5010 and meta["new_traders"].value == 10
        # Nothing new: no call at all.
        dg.materialize([trader_registry], instance=instance, resources=resources)
        assert len(calls) == 2
        assert len(instance.get_dynamic_partitions(TRADER_PARTITIONS_NAME)) == 5010
