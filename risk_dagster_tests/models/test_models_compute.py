"""The fleet trains the same models whatever runs it: this process, a local process pool or a
Dask cluster (a LocalCluster of two worker processes): same seeds, same model files and
predictions, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from risk_dagster.core.lake import Lake
from risk_dagster.models import TrainingConfig
from risk_dagster.models.compute import dask_pool, kept_local_pools, local_pool
from risk_dagster.models.fleet import MODELS_DIR, TRADER_PREDICTIONS, trader_groups, train_traders
from risk_dagster_tests.factories import make_synthetic

TRADERS = ["T0001", "T0002", "T0003"]
# small budgets; min_trader_* low enough that the traders get a trader_lgbm too
CFG = TrainingConfig(n_folds=2, n_trials=3, max_rounds=60, early_stopping_rounds=10,
                     min_train_sessions=120, min_trader_rows=150, min_trader_positives=12,
                     pruner_startup_trials=2, seed=5)


def _lake(root: Path) -> str:
    """A lake holding trader_features and risk_labels of 3 synthetic traders, one partition
    per date, as the feature assets write them."""
    features, labels = make_synthetic(n_traders=3, n_days=330, n_features=12, seed=4)
    lake = Lake(root)
    for asset, frame in (("trader_features", features), ("risk_labels", labels)):
        table = pa.Table.from_pandas(frame.assign(key=frame["trade_date"].astype(str)),
                                     preserve_index=False)
        lake.write_many(asset, "date", table, "key")
    return str(root)


def _content(path: Path):
    """A model file's content: the booster text as bytes, the metadata without its clock time."""
    if path.suffix != ".json":
        return path.read_bytes()
    meta = json.loads(path.read_text())
    meta.pop("created_at")
    return meta


def _stored(data_dir: str) -> tuple[dict[str, object], pd.DataFrame]:
    """Every model file (path relative to the models root -> content) and every OOS prediction."""
    root = Path(data_dir) / MODELS_DIR
    files = {str(p.relative_to(root)): _content(p) for p in sorted(root.rglob("*")) if p.is_file()}
    preds = Lake(data_dir).read_df(TRADER_PREDICTIONS, "trader")
    return files, preds.drop(columns=[c for c in preds if c.startswith("__")])


@pytest.fixture(scope="module")
def in_process(tmp_path_factory):
    data_dir = _lake(tmp_path_factory.mktemp("in_process"))
    return train_traders(data_dir, TRADERS, CFG), _stored(data_dir)


def _same_as_in_process(in_process, summaries, data_dir):
    ref_summaries, (ref_files, ref_preds) = in_process
    files, preds = _stored(data_dir)
    assert [s["owner"] for s in summaries] == TRADERS
    assert [s["cv"] for s in summaries] == [s["cv"] for s in ref_summaries]
    assert sorted(files) == sorted(ref_files)
    assert any("/trader_lgbm/" in name and name.endswith("classifier.txt") for name in files)
    for name, data in files.items():
        assert data == ref_files[name], name
    pd.testing.assert_frame_equal(preds, ref_preds, check_exact=True)


def test_in_process_training_stores_every_traders_models(in_process):
    summaries, (files, preds) = in_process
    assert [s["owner"] for s in summaries] == TRADERS
    assert sorted(preds["trader_id"].unique()) == TRADERS
    families = {name.split("/")[1] for name in files}
    assert {"logistic", "rules", "trader_lgbm"} <= families


def test_local_pool_trains_the_same_models(in_process, tmp_path):
    data_dir = _lake(tmp_path)
    with local_pool(2) as pool:
        assert pool.slots == 2
        summaries = train_traders(data_dir, TRADERS, CFG, pool=pool)
    _same_as_in_process(in_process, summaries, data_dir)


def test_kept_local_pool_is_reused_and_its_cached_reads_train_the_same_models(in_process,
                                                                          tmp_path):
    data_dir = _lake(tmp_path)
    with kept_local_pools(1 << 28):
        with local_pool(2) as first:
            train_traders(data_dir, TRADERS, CFG, pool=first)
        with local_pool(2) as second:  # the same workers, their lake files already parsed
            assert second.executor is first.executor
            summaries = train_traders(data_dir, TRADERS, CFG, pool=second)
    _same_as_in_process(in_process, summaries, data_dir)
    with pytest.raises(RuntimeError):  # closed when the block ends
        first.executor.submit(len, [])
    with local_pool(2) as pool:  # outside the block: a new pool per call again
        assert pool.executor is not first.executor


def test_dask_cluster_trains_the_same_models(in_process, tmp_path):
    from distributed import LocalCluster

    data_dir = _lake(tmp_path)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        with dask_pool(cluster.scheduler_address) as pool:
            assert pool.slots == 2
            # three tasks of one trader each over two workers
            summaries = train_traders(data_dir, TRADERS, CFG, pool=pool, tasks_per_slot=2)
    _same_as_in_process(in_process, summaries, data_dir)


def test_trader_groups_deal_round_robin_into_non_empty_groups():
    assert trader_groups(["a", "b", "c", "d", "e"], 2) == [["a", "c", "e"], ["b", "d"]]
    assert trader_groups(["a", "b"], 8) == [["a"], ["b"]]
    assert trader_groups(["a", "b"], 0) == [["a", "b"]]
