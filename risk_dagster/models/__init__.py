"""Risk models: candidate families, purged walk-forward validation, tuning and storage.

Domain code only (no Dagster). Entry points: ``train_candidates`` (out-of-sample predictions,
CV metrics and final models of one trader or the pooled model), ``save_model`` / ``load_model``
(LightGBM text + JSON, versioned folders). Champion pointers: ``evaluation.champions``.
"""

from risk_dagster.models.config import FAMILIES, POOLED, TrainingConfig
from risk_dagster.models.selection import select_features
from risk_dagster.models.splits import Fold, calibration_split, walk_forward_splits
from risk_dagster.models.storage import list_versions, load_model, save_model
from risk_dagster.models.training import PRED_COLUMNS, CandidateResult, train_candidates

__all__ = [
    "FAMILIES", "POOLED", "PRED_COLUMNS", "CandidateResult", "Fold", "TrainingConfig",
    "calibration_split", "list_versions", "load_model", "save_model", "select_features",
    "train_candidates", "walk_forward_splits",
]
