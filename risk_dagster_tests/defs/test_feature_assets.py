"""End to end on a small simulated firm: raw -> panel -> features -> labels as single runs."""

import datetime as dt

import dagster as dg
import pytest

from risk_dagster.core.lake import Lake
from risk_dagster.defs.assets.features import (
    check_features_point_in_time,
    check_label_balance,
    check_panel_rows_match_roster,
)
from risk_dagster.defs.assets.ingest import trader_registry
from risk_dagster.defs.resources import LakeResource, TradeSource
from risk_dagster.features import feature_catalog
from risk_dagster_tests.factories import date_assets
from risk_dagster.defs.partitions import RANGE_END_TAG, RANGE_START_TAG

START, END = dt.date(2024, 1, 2), dt.date(2024, 4, 30)
raw_trades, trader_day_panel, trader_features, risk_labels = (
    date_assets()[n] for n in ("raw_trades", "trader_day_panel", "trader_features", "risk_labels"))
ASSETS = [raw_trades, trader_registry, trader_day_panel, trader_features, risk_labels,
          check_panel_rows_match_roster, check_features_point_in_time, check_label_balance]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("lake")
    resources = {"lake": LakeResource(data_dir=str(root)),
                 "source": TradeSource(kind="simulator", data_dir=str(root), sim_traders=8,
                                       sim_start=START.isoformat(), sim_end=END.isoformat())}
    with dg.instance_for_test() as instance:
        result = dg.materialize(ASSETS, instance=instance, resources=resources,
                                tags={RANGE_START_TAG: START.isoformat(),
                                      RANGE_END_TAG: END.isoformat()}, raise_on_error=False)
        yield root, result


def test_pipeline_runs_and_checks_pass(built):
    _, result = built
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations), [
        e.check_name for e in evaluations if not e.passed]


def test_panel_covers_roster_and_features_match_catalog(built):
    root, _ = built
    lake = Lake(root)
    panel = lake.read_df("trader_day_panel", "date")
    assert panel.groupby(["trade_date", "trader_id"]).size().max() == 1
    assert (~panel["traded"]).any() and panel.loc[~panel["traded"], "net_pnl"].isna().all()
    features = lake.read_df("trader_features", "date")
    catalog = feature_catalog()
    assert len(catalog) >= 150
    assert list(features.columns[2:]) == catalog["name"].tolist()
    assert len(features) == len(panel)


def test_labels_are_pending_at_the_end_and_complete_before(built):
    root, _ = built
    labels = Lake(root).read_df("risk_labels", "date")
    last = labels["trade_date"].max()
    assert (labels.loc[labels["trade_date"] == last, "label_status"] != "complete").all()
    early = labels[labels["trade_date"] < dt.date(2024, 4, 1)]
    assert (early["label_status"] == "complete").mean() > 0.8


def _latest_per_partition(result, node: str) -> dict[str, dict]:
    """The metadata a partition shows: the last materialization of that partition in the run."""
    out = {}
    for event in result.asset_materializations_for_node(node):
        out[event.partition] = {k: v.value for k, v in event.metadata.items()}
    return out


def test_each_partition_describes_itself(built):
    root, result = built
    panel = Lake(root).read_df("trader_day_panel", "date")
    rows_on = panel.groupby("trade_date").size()
    busy = rows_on.index[len(rows_on) // 2]
    for node in ("trader_day_panel", "trader_features", "risk_labels"):
        meta = _latest_per_partition(result, node)
        assert meta["2024-01-15"]["rows"] == 0 and "holiday" in meta["2024-01-15"]["note"], node
        assert meta[busy.isoformat()]["rows"] == rows_on[busy] < len(panel), node
        assert meta["2024-03-28"]["rows"] == rows_on[dt.date(2024, 3, 28)], node
    features = _latest_per_partition(result, "trader_features")
    assert features[busy.isoformat()]["traders"] == rows_on[busy]
    # the shares, recomputed from the stored partition of that date
    stored_panel = panel[panel["trade_date"] == busy]
    panel_meta = _latest_per_partition(result, "trader_day_panel")[busy.isoformat()]
    assert panel_meta["traders"] == stored_panel["trader_id"].nunique()
    assert 0 < panel_meta["traded_share_pct"] == round(100 * stored_panel["traded"].mean(), 1)
    stored = Lake(root).read_df("trader_features", "date", [busy.isoformat()]).iloc[:, 2:]
    assert 0 < features[busy.isoformat()]["missing_values_pct"] == round(
        100 * stored.isna().to_numpy().mean(), 1)


def test_point_in_time_check_probes_sessions_with_rows(built, tmp_path):
    _, result = built
    evaluation = next(e for e in result.get_asset_check_evaluations()
                      if e.check_name == "check_features_point_in_time")
    meta = {k: v.value for k, v in evaluation.metadata.items()}
    probes = meta["probe_dates"].split(", ")
    assert len(probes) == 2 and probes[-1] == "2024-04-30" and meta["rows_compared"] >= 8
    assert evaluation.passed and meta["differing_dates"] == "none"
    empty = check_features_point_in_time(lake=LakeResource(data_dir=str(tmp_path)))
    assert not empty.passed and "nothing to probe" in empty.metadata["note"].value
