"""Join out-of-sample predictions to labels and compute every evaluation table.

One row per (model, trader, label_date): when a trader skips days, several prediction dates D
share the same next traded session; only the latest D (the forecast in force on the morning of
``label_date``) is kept, so a realised P&L is never counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from risk_dagster.evaluation.comparison import compare_with_rules, oracle_capture
from risk_dagster.evaluation.config import EvaluationConfig
from risk_dagster.evaluation.counterfactual import (counterfactual_table, flag_rows,
                                                    flag_thresholds)
from risk_dagster.evaluation.metrics import prediction_metrics

PREDICTION_COLUMNS = ["trade_date", "trader_id", "model", "fold", "p_large_loss", "pred_pnl",
                      "var_05"]
LABEL_COLUMNS = ["trade_date", "trader_id", "label_date", "next_net_pnl", "large_loss",
                 "label_status"]


@dataclass
class Evaluation:
    """Everything the reports and champion selection need.

    rows: evaluated rows (predictions + labels + ``threshold``, ``flagged``, ``cf_eligible``,
        ``p_true`` when a truth frame was given).
    per_trader: metrics per (trader_id, model). firm: metrics per model pooled over all rows.
    counterfactual: per (level, trader_id, model, reduction). comparison: per model vs rules.
    thresholds: flag threshold per (model, fold).
    """

    rows: pd.DataFrame
    per_trader: pd.DataFrame
    firm: pd.DataFrame
    counterfactual: pd.DataFrame
    comparison: pd.DataFrame
    thresholds: pd.DataFrame
    config: EvaluationConfig = field(default_factory=EvaluationConfig)


def _dates(frame: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return frame.assign(**{c: pd.to_datetime(frame[c]) for c in cols if c in frame.columns})


def prepare_rows(predictions: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Inner join of predictions (with a probability) and complete labels (with an outcome),
    one row per (model, trader, label_date), the latest trade_date kept.

    Raises ValueError on duplicate (trade_date, trader_id, model) predictions or missing columns.
    """
    for name, frame, cols in (("predictions", predictions, PREDICTION_COLUMNS),
                              ("labels", labels, LABEL_COLUMNS)):
        missing = sorted(set(cols) - set(frame.columns))
        if missing:
            raise ValueError(f"{name}: missing columns {missing}")
    preds = _dates(predictions[PREDICTION_COLUMNS], ["trade_date"])
    if preds.duplicated(["trade_date", "trader_id", "model"]).any():
        raise ValueError("predictions: duplicate (trade_date, trader_id, model) rows")
    lab = labels.loc[(labels["label_status"] == "complete") & labels["large_loss"].notna()
                     & labels["next_net_pnl"].notna(), LABEL_COLUMNS[:-1]]
    lab = _dates(lab, ["trade_date", "label_date"]).astype({"large_loss": "int8"})
    # A prediction without a probability cannot be scored or flagged: left out.
    preds = preds[preds["p_large_loss"].notna()]
    rows = preds.merge(lab, on=["trade_date", "trader_id"], how="inner")
    rows = rows.sort_values(["model", "trader_id", "trade_date"])
    rows = rows.drop_duplicates(["model", "trader_id", "label_date"], keep="last")
    return rows.reset_index(drop=True)


def _attach_truth(rows: pd.DataFrame, truth: pd.DataFrame | None) -> pd.DataFrame:
    """Add ``p_true``: the simulator's probability that the *label* day is a large loss."""
    if truth is None:
        return rows
    t = _dates(truth[["trade_date", "trader_id", "p_large_loss"]], ["trade_date"])
    t = t.rename(columns={"trade_date": "label_date", "p_large_loss": "p_true"})
    return rows.merge(t, on=["label_date", "trader_id"], how="left")


def _group_metrics(grp: pd.DataFrame, cfg: EvaluationConfig) -> dict:
    out = prediction_metrics(grp, cfg.var_level)
    if "p_true" in grp.columns:
        known = grp[grp["p_true"].notna()]
        out.update(oracle_capture(known["large_loss"].to_numpy(dtype=float),
                                  known["p_large_loss"].to_numpy(dtype=float),
                                  known["p_true"].to_numpy(dtype=float)))
    return out


def evaluate(predictions: pd.DataFrame, labels: pd.DataFrame, truth: pd.DataFrame | None = None,
             cfg: EvaluationConfig | None = None) -> Evaluation:
    """Evaluate out-of-sample predictions (contract "Model predictions") against risk_labels.

    ``truth`` (optional, simulator GROUND_TRUTH columns ``trade_date, trader_id, p_large_loss``)
    adds the oracle AUC and capture share. Returns an ``Evaluation``.
    """
    cfg = cfg or EvaluationConfig()
    thresholds = flag_thresholds(_dates(predictions, ["trade_date"]), cfg)
    rows = _attach_truth(flag_rows(prepare_rows(predictions, labels), thresholds), truth)
    per_trader = pd.DataFrame(
        [{"trader_id": tid, "model": model, **_group_metrics(grp, cfg)}
         for (tid, model), grp in rows.groupby(["trader_id", "model"], sort=True)])
    firm = pd.DataFrame([{"model": model, **_group_metrics(grp, cfg)}
                         for model, grp in rows.groupby("model", sort=True)])
    return Evaluation(rows=rows, per_trader=per_trader, firm=firm,
                      counterfactual=counterfactual_table(rows, cfg),
                      comparison=compare_with_rules(rows, cfg), thresholds=thresholds, config=cfg)
