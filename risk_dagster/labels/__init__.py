"""Next-day risk labels of each trader-day (the risk_labels contract)."""

from risk_dagster.features.thresholds import large_loss_thresholds
from risk_dagster.labels.build import (
    LABEL_RATE_BOUNDS,
    LABEL_REFRESH_SESSIONS,
    PANEL_INPUTS,
    build_labels,
)

__all__ = ["LABEL_RATE_BOUNDS", "LABEL_REFRESH_SESSIONS", "PANEL_INPUTS", "build_labels",
           "large_loss_thresholds"]
