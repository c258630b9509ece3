import dagster as dg

from risk_dagster.definitions import defs
from risk_dagster.core.settings import load_settings
from risk_dagster.defs.partitions import build_date_partitions

date_partitions = build_date_partitions(load_settings())

MAX_PARTITIONS = 100_000


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)
    for job in ("ingest_job", "inbox_ingest_job"):
        assert defs.resolve_job_def(job) is not None


def test_names_follow_conventions():
    repo = defs.get_repository_def()
    assert all(name.endswith("_job") for name in repo.job_names if not name.startswith("__"))
    assert all(s.name.endswith("_sensor") for s in repo.sensor_defs)
    assert all(s.name.endswith("_schedule") for s in repo.schedule_defs)
    for key in repo.asset_graph.asset_check_keys:
        assert key.name.startswith("check_"), key


def test_no_asset_exceeds_the_partition_budget():
    # 3 years of daily partitions; trader-partitioned assets have one per trader (<= 500).
    assert len(date_partitions.get_partition_keys()) * 1 <= MAX_PARTITIONS
    repo = defs.get_repository_def()
    for node in repo.asset_graph.asset_nodes:
        pdef = node.partitions_def
        assert not isinstance(pdef, dg.MultiPartitionsDefinition), node.key


def test_every_writer_of_a_shared_store_declares_its_pool():
    # raw_trades rewrites whole date partitions; two ingests of the same dates take turns
    from risk_dagster.definitions import defs as built

    pools = {name: built.resolve_assets_def(name).op.pool
             for name in ("raw_fills", "trader_registry", "pooled_model", "model_evaluation")}
    assert pools == {"raw_fills": "raw_trades", "trader_registry": "trader_registry",
                     "pooled_model": "model_store", "model_evaluation": "model_store"}
