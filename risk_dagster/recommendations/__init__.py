"""The morning product: risk scores, plain-word reasons, trade recommendations and publish checks.

Domain code only (no Dagster): ``risk_scores`` -> ``recommend`` -> ``publish_checks`` ->
``to_audit_json``, all driven by one :class:`RecommendationConfig`.
"""

from risk_dagster.recommendations.audit import fingerprint, to_audit_json
from risk_dagster.recommendations.checks import CheckResult, publish_checks
from risk_dagster.recommendations.config import LEVELS, BaselineWeights, RecommendationConfig
from risk_dagster.recommendations.recommend import OUTPUT_COLUMNS, recommend
from risk_dagster.recommendations.schema import RECOMMENDATIONS
from risk_dagster.recommendations.scores import ModelInfo, risk_scores, rules_baseline

__all__ = [
    "LEVELS", "OUTPUT_COLUMNS", "RECOMMENDATIONS", "BaselineWeights", "CheckResult", "ModelInfo",
    "RecommendationConfig", "fingerprint", "publish_checks", "recommend", "risk_scores",
    "rules_baseline", "to_audit_json",
]
