"""The code location built from one ``Settings``: every asset, check, job, schedule, sensor and
resource, with the date partitions, schedules and resources that follow the settings."""

from __future__ import annotations

import dagster as dg

from risk_dagster.core.settings import Settings
from risk_dagster.defs.assets import build_date_assets
from risk_dagster.defs.assets import features as feature_assets
from risk_dagster.defs.assets import models as model_assets
from risk_dagster.defs.assets.ingest import trader_registry
from risk_dagster.defs.compute import DaskCompute, LocalPoolCompute
from risk_dagster.defs.assets.replay import replay_report
from risk_dagster.defs.jobs import (
    daily_pipeline_job,
    inbox_ingest_job,
    ingest_job,
    labels_job,
    monitoring_job,
    morning_job,
    replay_job,
    retrain_trader_job,
    score_date_job,
    weekly_training_job,
)
from risk_dagster.defs.partitions import build_date_partitions, build_scoring_partitions
from risk_dagster.defs.resources import (
    EvaluationSettings,
    LakeResource,
    ModelSettings,
    MonitoringSettings,
    NotifierResource,
    PostgresResource,
    RecommendationSettings,
    TradeSource,
)
from risk_dagster.defs.schedules import build_schedules
from risk_dagster.defs.sensors import (build_inbox_sensor, build_morning_scoring_sensor,
                                      drift_retrain_sensor)


def build_resources(settings: Settings) -> dict:
    """Every resource, chosen from the settings in this one place."""
    data_dir = str(settings.data_dir)
    return {
        "lake": LakeResource(data_dir=data_dir, reports_url=settings.reports_url),
        "source": TradeSource(
            kind=settings.source, data_dir=data_dir, calendar=settings.calendar,
            sim_traders=settings.sim_traders, sim_seed=settings.sim_seed,
            sim_start=settings.start_date.isoformat(), sim_end=settings.sim_end_date.isoformat(),
            sim_changes=list(settings.sim_changes),
            contracts_file=str(settings.contracts_file) if settings.contracts_file else None,
        ),
        # The production profile's Optuna studies go to its PostgreSQL (README: Production).
        "models": ModelSettings(postgres=PostgresResource.from_env()
                                if settings.instance == "postgres" else None),
        "compute": (DaskCompute(scheduler_address=settings.dask_scheduler)
                    if settings.dask_scheduler else LocalPoolCompute()),
        "monitoring": MonitoringSettings(),
        "evaluation_settings": EvaluationSettings(),
        "recommendation_settings": RecommendationSettings(
            periods_per_year=365 if settings.is_24_7 else 252),
        # Off unless configured: set RISK_NOTIFY=1 and the webhook/SMTP fields (see README).
        "notifier": NotifierResource(enabled=settings.notify, webhook_url=settings.webhook_url),
    }


def build_defs(settings: Settings) -> dg.Definitions:
    """The whole code location for ``settings`` (date partitions, schedules and resources follow
    them)."""
    date_partitions = build_date_partitions(settings)
    scoring_partitions = build_scoring_partitions(settings, date_partitions)
    dated = build_date_assets(date_partitions, scoring_partitions)
    return dg.Definitions(
        assets=[*dated.values(), trader_registry, model_assets.pooled_model,
                model_assets.trader_models, model_assets.model_evaluation, replay_report],
        asset_checks=[feature_assets.check_panel_rows_match_roster,
                      feature_assets.check_features_point_in_time,
                      feature_assets.check_label_balance,
                      model_assets.check_every_trader_has_a_champion],
        jobs=[ingest_job, daily_pipeline_job, labels_job, inbox_ingest_job, weekly_training_job,
              retrain_trader_job, score_date_job, monitoring_job, morning_job, replay_job],
        schedules=build_schedules(settings.calendar, date_partitions),
        sensors=[build_inbox_sensor(date_partitions), drift_retrain_sensor,
                 build_morning_scoring_sensor(scoring_partitions)],
        resources=build_resources(settings),
    )
