"""Point-in-time features of each trader-day (the trader_features contract)."""

from risk_dagster.features.build import build_features
from risk_dagster.features.catalog import feature_catalog
from risk_dagster.features.thresholds import large_loss_thresholds

__all__ = ["build_features", "feature_catalog", "large_loss_thresholds"]
