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
