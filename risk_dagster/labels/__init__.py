"""Next-day risk labels of each trader-day (the risk_labels contract)."""

from risk_dagster.features.thresholds import large_loss_thresholds
from risk_dagster.labels.build import build_labels

__all__ = ["build_labels", "large_loss_thresholds"]
