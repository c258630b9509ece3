"""Honest out-of-sample evaluation of risk models, champion selection and reports.

Entry points: ``evaluate`` (predictions + labels [+ simulator truth] -> ``Evaluation``),
``select_champions`` (per-trader decision dicts; ``champions`` also owns the fallbacks and the
champion pointers) and ``write_reports`` (JSON/Markdown/HTML).
"""

from risk_dagster.evaluation.champions import select_champions
from risk_dagster.evaluation.comparison import (compare_with_rules, oracle_capture,
                                                paired_auc_bootstrap, paired_daily_tests)
from risk_dagster.evaluation.config import EvaluationConfig
from risk_dagster.evaluation.counterfactual import (counterfactual, flag_rows, flag_thresholds,
                                                    performance)
from risk_dagster.evaluation.evaluate import Evaluation, evaluate, prepare_rows
from risk_dagster.evaluation.metrics import (classification_metrics, kupiec_pof, rank_ic,
                                             regression_metrics, var_backtest)
from risk_dagster.evaluation.reports import key_numbers, write_reports

__all__ = [
    "Evaluation", "EvaluationConfig", "classification_metrics", "compare_with_rules",
    "counterfactual", "evaluate", "flag_rows", "flag_thresholds", "key_numbers", "kupiec_pof",
    "oracle_capture", "paired_auc_bootstrap", "paired_daily_tests", "performance",
    "prepare_rows", "rank_ic", "regression_metrics", "select_champions", "var_backtest",
    "write_reports",
]
