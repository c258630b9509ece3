"""Monitoring: drift of the champions' inputs and predictions, live performance decay, and the
retrain decisions a sensor turns into runs. Domain code only (no Dagster)."""

from risk_dagster.monitoring.config import MonitoringConfig
from risk_dagster.monitoring.decay import DecayResult, performance_decay
from risk_dagster.monitoring.drift import Calibration, DriftResult, calibrate, drift_scores
from risk_dagster.monitoring.measurement import detection_delay, false_alarm_rate, scan_drift
from risk_dagster.monitoring.retrain import RetrainDecision, retrain_decisions

__all__ = [
    "Calibration", "DecayResult", "DriftResult", "MonitoringConfig", "RetrainDecision",
    "calibrate", "detection_delay", "drift_scores", "false_alarm_rate", "performance_decay",
    "retrain_decisions", "scan_drift",
]
