"""The Dagster code location: every asset, check, job, schedule, sensor and resource."""

from __future__ import annotations

import dagster as dg

from risk_dagster.core.settings import Settings
from risk_dagster.defs.assets import features as feature_assets
from risk_dagster.defs.assets.ingest import raw_trades, trader_registry
from risk_dagster.defs.jobs import daily_pipeline_job, inbox_ingest_job, ingest_job, labels_job
from risk_dagster.defs.partitions import SETTINGS
from risk_dagster.defs.resources import LakeResource, TradeSource
from risk_dagster.defs.sensors import inbox_sensor


def build_resources(settings: Settings) -> dict:
    """Every resource, chosen from the settings in this one place."""
    data_dir = str(settings.data_dir)
    return {
        "lake": LakeResource(data_dir=data_dir),
        "source": TradeSource(
            kind=settings.source, data_dir=data_dir, calendar=settings.calendar,
            sim_traders=settings.sim_traders, sim_seed=settings.sim_seed,
            sim_start=settings.start_date.isoformat(), sim_end=settings.sim_end_date.isoformat(),
        ),
    }


defs = dg.Definitions(
    assets=[raw_trades, trader_registry, feature_assets.trader_day_panel,
            feature_assets.trader_features, feature_assets.risk_labels],
    asset_checks=[feature_assets.check_panel_one_row_per_trader_day,
                  feature_assets.check_features_point_in_time, feature_assets.check_label_balance],
    jobs=[ingest_job, daily_pipeline_job, labels_job, inbox_ingest_job],
    sensors=[inbox_sensor],
    resources=build_resources(SETTINGS),
)
