"""The Dagster code location: every asset, check, job, schedule, sensor and resource."""

from __future__ import annotations

import os

import dagster as dg

from risk_dagster.core.settings import Settings
from risk_dagster.defs.assets import features as feature_assets
from risk_dagster.defs.assets import models as model_assets
from risk_dagster.defs.assets import recommendations as rec_assets
from risk_dagster.defs.assets.ingest import raw_trades, trader_registry
from risk_dagster.defs.assets.monitoring import drift_report
from risk_dagster.defs.jobs import (
    daily_pipeline_job,
    inbox_ingest_job,
    ingest_job,
    labels_job,
    monitoring_job,
    morning_job,
    retrain_trader_job,
    score_date_job,
    weekly_training_job,
)
from risk_dagster.defs.partitions import SETTINGS
from risk_dagster.defs.resources import (
    LakeResource,
    ModelSettings,
    MonitoringSettings,
    NotifierResource,
    RecommendationSettings,
    TradeSource,
)
from risk_dagster.defs.schedules import (
    daily_scoring_schedule,
    labels_refresh_schedule,
    weekly_training_schedule,
)
from risk_dagster.defs.sensors import drift_retrain_sensor, inbox_sensor


def build_resources(settings: Settings) -> dict:
    """Every resource, chosen from the settings in this one place."""
    data_dir = str(settings.data_dir)
    return {
        "lake": LakeResource(data_dir=data_dir),
        "source": TradeSource(
            kind=settings.source, data_dir=data_dir, calendar=settings.calendar,
            sim_traders=settings.sim_traders, sim_seed=settings.sim_seed,
            sim_start=settings.start_date.isoformat(), sim_end=settings.sim_end_date.isoformat(),
            sim_changes=list(settings.sim_changes),
        ),
        "models": ModelSettings(),
        "monitoring": MonitoringSettings(),
        "recommendation_settings": RecommendationSettings(
            periods_per_year=365 if settings.is_24_7 else 252),
        # Off unless configured: set RISK_NOTIFY=1 and the webhook/SMTP fields (see README).
        "notifier": NotifierResource(enabled=os.environ.get("RISK_NOTIFY") == "1",
                             webhook_url=os.environ.get("RISK_WEBHOOK_URL") or None),
    }


defs = dg.Definitions(
    assets=[raw_trades, trader_registry, feature_assets.trader_day_panel,
            feature_assets.trader_features, feature_assets.risk_labels,
            model_assets.pooled_model, model_assets.trader_models, model_assets.model_evaluation,
            rec_assets.risk_scores, rec_assets.trade_recommendations, drift_report],
    asset_checks=[feature_assets.check_panel_rows_match_roster,
                  feature_assets.check_features_point_in_time, feature_assets.check_label_balance,
                  model_assets.check_every_trader_has_a_champion],
    jobs=[ingest_job, daily_pipeline_job, labels_job, inbox_ingest_job, weekly_training_job,
          retrain_trader_job, score_date_job, monitoring_job, morning_job],
    schedules=[daily_scoring_schedule, labels_refresh_schedule, weekly_training_schedule],
    sensors=[inbox_sensor, drift_retrain_sensor],
    resources=build_resources(SETTINGS),
)
