"""The compute resource: chosen from the settings, and trader_models trains every requested
trader in one run whichever backend it gets (here a Dask LocalCluster)."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa
import pytest

from risk_dagster.core.lake import Lake
from risk_dagster.core.settings import Settings, load_settings
from risk_dagster.defs.assets import models as ma
from risk_dagster.defs.build import build_resources
from risk_dagster.defs.compute import DaskCompute, LocalPoolCompute
from risk_dagster.defs.partitions import RANGE_END_TAG, RANGE_START_TAG, TRADER_PARTITIONS_NAME
from risk_dagster.defs.resources import LakeResource, ModelSettings
from risk_dagster.models.fleet import TRADER_PREDICTIONS
from risk_dagster_tests.factories import make_synthetic


def test_settings_choose_the_compute_backend():
    assert load_settings({"RISK_DASK_SCHEDULER": "tcp://10.1.2.3:8786"}).dask_scheduler == (
        "tcp://10.1.2.3:8786")
    assert load_settings({}).dask_scheduler is None
    dask = build_resources(Settings(dask_scheduler="tcp://10.1.2.3:8786"))["compute"]
    assert isinstance(dask, DaskCompute) and dask.scheduler_address == "tcp://10.1.2.3:8786"
    local = build_resources(Settings())["compute"]
    assert isinstance(local, LocalPoolCompute) and local.workers == 2


@pytest.fixture
def lake_dir(tmp_path):
    features, labels = make_synthetic(n_traders=3, n_days=260, n_features=8, seed=2)
    lake = Lake(tmp_path)
    for asset, frame in (("trader_features", features), ("risk_labels", labels)):
        lake.write_many(asset, "date", pa.Table.from_pandas(
            frame.assign(key=frame["trade_date"].astype(str)), preserve_index=False), "key")
    return tmp_path


def test_trader_models_trains_every_trader_in_one_run_on_a_dask_cluster(lake_dir):
    from distributed import LocalCluster

    traders = ["T0001", "T0002", "T0003"]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(TRADER_PARTITIONS_NAME, traders)
        result = dg.materialize(
            [ma.trader_models], instance=instance,
            tags={RANGE_START_TAG: traders[0], RANGE_END_TAG: traders[-1]},
            resources={"lake": LakeResource(data_dir=str(lake_dir)),
                       "models": ModelSettings(n_trials=2, n_folds=2, min_train_sessions=100),
                       "compute": DaskCompute(scheduler_address=cluster.scheduler_address)})
    assert result.success
    mats = result.asset_materializations_for_node("trader_models")
    # one run, every partition: the run's summary on each, then each trader's own metadata
    summary = [m for m in mats if "traders" in m.metadata]
    own = [m for m in mats if "traders" not in m.metadata]
    assert sorted(m.partition for m in summary) == traders
    assert sorted(m.partition for m in own) == traders
    mat = mats[0]
    assert mat.metadata["traders"].value == 3
    assert mat.metadata["compute"].value.startswith(f"dask cluster {cluster.scheduler_address}")
    assert "(2 worker threads)" in mat.metadata["compute"].value
    assert Lake(lake_dir).keys(TRADER_PREDICTIONS, "trader") == traders
