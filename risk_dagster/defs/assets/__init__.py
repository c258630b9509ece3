"""Assets by pipeline stage. The date-partitioned ones are built on the date partitions of the
settings (``build_date_assets``); the others are module-level definitions."""

import dagster as dg

from risk_dagster.defs.assets.features import build_feature_assets
from risk_dagster.defs.assets.ingest import build_ingest_assets
from risk_dagster.defs.assets.monitoring import build_monitoring_assets
from risk_dagster.defs.assets.recommendations import build_recommendation_assets


def build_date_assets(date_partitions: dg.PartitionsDefinition,
                      scoring_partitions: dg.PartitionsDefinition | None = None
                      ) -> dict[str, dg.AssetsDefinition]:
    """Every date-partitioned asset on ``date_partitions``, by name (``raw_trades`` for the
    multi-asset of raw_fills, raw_totals and ground_truth); risk_scores and
    trade_recommendations on ``scoring_partitions`` (the sessions meant to be scored;
    default: every date partition)."""
    built = [*build_ingest_assets(date_partitions), *build_feature_assets(date_partitions),
             *build_recommendation_assets(scoring_partitions or date_partitions),
             *build_monitoring_assets(date_partitions)]
    return {a.node_def.name: a for a in built}
