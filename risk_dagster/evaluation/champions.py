"""Champion model per trader: selection by a stated formula, fallbacks, and the champion
pointers (``<models>/<trader_id>/champion.json``) that scoring and monitoring read.

The one home of champions: the model_evaluation asset selects (``select_champions``), adds the
fallbacks (``with_fallbacks``) and writes the pointers (``write_champions``); scoring and
monitoring read them (``read_champion``, ``champion_model_path``). A pointer's ``path`` is
relative to the data directory (``models/<owner>/<family>/<version>``), so a moved data
directory keeps its champions; absolute paths written by older versions are still read.

Selection, with every decision recorded:

Candidates: every model with out-of-sample rows for the trader except ``rules``. A candidate
passes when (1) it has at least ``min_rows`` evaluated rows, (2) AUC >= ``min_auc`` and (3) its
Brier score is no worse than the climatological Brier (constant forecast of the realised base
rate). Among passing candidates the highest

    score = AUC + lambda * net_benefit / abs_pnl

wins, where net_benefit (USD) is the counterfactual benefit at ``champion_reduction`` and
abs_pnl (USD) the sum of |next_net_pnl| over the same rows (no benefit -> 0). When none passes:
``pooled_lgbm`` if it has rows for the trader, else ``rules``, else None.

Fallbacks (``with_fallbacks``), for traders without any out-of-sample row: the latest stored
``pooled_lgbm``, else the trader's own latest ``rules`` model, else none (the recommendations
then use the built-in rules baseline and say so).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import uuid
from pathlib import Path, PurePosixPath

import pandas as pd

from risk_dagster.core.trader_ids import validate_trader_id
from risk_dagster.evaluation.config import FALLBACK_MODEL, RULES_MODEL, EvaluationConfig
from risk_dagster.evaluation.evaluate import Evaluation
from risk_dagster.models import list_versions, load_model
from risk_dagster.models.config import POOLED

CHAMPION_FILE = "champion.json"
# families served to a trader without out-of-sample rows, in this order
FALLBACK_FAMILIES = (FALLBACK_MODEL, RULES_MODEL)

FORMULA = "score = auc + lambda * net_benefit / abs_pnl (counterfactual at {r:.0%} size cut)"


def _benefit(evaluation: Evaluation, trader_id: str, model: str, reduction: float) -> tuple:
    cf = evaluation.counterfactual
    hit = cf[(cf["level"] == "trader") & (cf["trader_id"] == trader_id) & (cf["model"] == model)
             & (cf["reduction"] == reduction)] if len(cf) else cf
    if len(hit) == 0:
        return 0.0, 0.0
    return float(hit["net_benefit"].iloc[0]), float(hit["abs_pnl"].iloc[0])


def _candidate(row: pd.Series, evaluation: Evaluation, cfg: EvaluationConfig) -> dict:
    benefit, abs_pnl = _benefit(evaluation, row["trader_id"], row["model"],
                                cfg.champion_reduction)
    norm = benefit / abs_pnl if abs_pnl > 0 else 0.0
    auc, brier, clim = float(row["auc"]), float(row["brier"]), float(row["brier_clim"])
    failed = []
    if row["n"] < cfg.min_rows:
        failed.append(f"n={int(row['n'])} < min_rows={cfg.min_rows}")
    if math.isnan(auc) or auc < cfg.min_auc:
        failed.append(f"auc={auc:.4f} < min_auc={cfg.min_auc}"
                      + (f" ({row['auc_reason']})" if row["auc_reason"] else ""))
    if math.isnan(brier) or brier > clim:
        failed.append(f"brier={brier:.5f} > climatological {clim:.5f}")
    return {"model": row["model"], "n": int(row["n"]), "auc": auc, "brier": brier,
            "brier_clim": clim, "net_benefit": benefit, "abs_pnl": abs_pnl,
            "norm_benefit": norm, "score": auc + cfg.benefit_weight * norm if not
            math.isnan(auc) else math.nan, "passed": not failed, "failed": failed}


def _decide(trader_id: str, grp: pd.DataFrame, evaluation: Evaluation,
            cfg: EvaluationConfig) -> dict:
    cands = [_candidate(r, evaluation, cfg) for _, r in grp.iterrows() if r["model"] != RULES_MODEL]
    passing = [c for c in cands if c["passed"]]
    present = set(grp["model"])
    if passing:
        best = max(passing, key=lambda c: (c["score"], c["model"]))
        chosen, reason = best["model"], (f"highest score {best['score']:.4f} among "
                                         f"{len(passing)} passing candidate(s)")
    elif FALLBACK_MODEL in present:
        chosen, reason = FALLBACK_MODEL, f"no candidate passed; fallback {FALLBACK_MODEL}"
    elif RULES_MODEL in present:
        chosen, reason = RULES_MODEL, f"no candidate passed, no {FALLBACK_MODEL}; fallback rules"
    else:
        chosen, reason = None, "no candidate passed and no fallback model has predictions"
    return {"trader_id": trader_id, "chosen": chosen, "reason": reason,
            "formula": FORMULA.format(r=cfg.champion_reduction),
            "lambda": cfg.benefit_weight,
            "thresholds": {"min_rows": cfg.min_rows, "min_auc": cfg.min_auc,
                           "brier": "<= climatological"},
            "candidates": cands}


def select_champions(evaluation: Evaluation, cfg: EvaluationConfig | None = None) -> dict:
    """Champion decision per trader: ``{trader_id: {chosen, reason, formula, lambda,
    thresholds, candidates: [{model, n, auc, brier, brier_clim, net_benefit (USD), abs_pnl
    (USD), norm_benefit, score, passed, failed: [why]}]}}``."""
    cfg = cfg or evaluation.config
    if len(evaluation.per_trader) == 0:
        return {}
    return {tid: _decide(tid, grp, evaluation, cfg)
            for tid, grp in evaluation.per_trader.groupby("trader_id", sort=True)}


# --- fallbacks --------------------------------------------------------------------------------

def latest_model(models_root: str | os.PathLike[str], trader_id: str, family: str) -> str | None:
    """The latest stored version of ``family`` serving ``trader_id`` (the pooled model's for
    ``pooled_lgbm``) as a POSIX path relative to the data directory (``models_root``'s parent),
    e.g. ``models/pooled/pooled_lgbm/20240628-1a2b3c4d``; None when none is stored."""
    owner = POOLED if family == "pooled_lgbm" else trader_id
    versions = list_versions(models_root, owner, family)
    if not versions:
        return None
    return str(PurePosixPath(Path(models_root).name, owner, family, versions[-1]))


def with_fallbacks(champions: dict, traders: list[str], models_root: Path) -> dict:
    """``champions`` plus a decision for every trader in ``traders`` without a chosen model
    (no out-of-sample rows: history too short, or they left early): the first family of
    ``FALLBACK_FAMILIES`` with a stored model, else None."""
    out = dict(champions)
    for tid in traders:
        if out.get(tid, {}).get("chosen") is None:
            family = next((f for f in FALLBACK_FAMILIES if latest_model(models_root, tid, f)),
                          None)
            out[tid] = {**out.get(tid, {}), "chosen": family, "candidates": [],
                        "reason": "no out-of-sample rows for this trader: fallback "
                        + (family or "none (built-in rules baseline)")}
    return out


# --- pointers ---------------------------------------------------------------------------------

def _pointer(models_root: str | os.PathLike[str], trader_id: str) -> Path:
    owner = POOLED if trader_id == POOLED else validate_trader_id(trader_id)
    return Path(models_root) / owner / CHAMPION_FILE


def write_champion(models_root: str | os.PathLike[str], trader_id: str, decision: dict) -> Path:
    """Atomically write ``<models_root>/<trader_id>/champion.json`` with ``decision`` (JSON-safe
    dict, e.g. ``{"family": ..., "path": ..., "reason": ...}``); returns the pointer's path."""
    target = _pointer(models_root, trader_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{CHAMPION_FILE}.{uuid.uuid4().hex}.tmp"
    try:
        tmp.write_text(json.dumps(decision, indent=2, sort_keys=True, default=str))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def read_champion(models_root: str | os.PathLike[str], trader_id: str) -> dict | None:
    """The champion decision of ``trader_id``, or None if none was written."""
    target = _pointer(models_root, trader_id)
    return json.loads(target.read_text()) if target.exists() else None


def champion_model_path(models_root: str | os.PathLike[str],
                        champion: dict | None) -> Path | None:
    """The model folder a champion pointer names, when it exists (None otherwise, or without a
    ``path``). ``path`` is relative to the data directory (``models_root``'s parent); an
    absolute one (pointers written before paths were relative) is taken as it is."""
    path = (champion or {}).get("path")
    if not path:
        return None
    full = Path(path) if Path(path).is_absolute() else Path(models_root).parent / path
    return full if full.exists() else None


def write_champions(champions: dict, models_root: Path, run_id: str) -> dict:
    """Write the pointer of each trader with a chosen family (its latest stored version);
    returns the decisions, those with a pointer gaining ``family``, ``decided_at`` (UTC),
    ``run_id`` and ``path`` (relative to the data directory)."""
    decided_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    out = {}
    for trader_id, decision in champions.items():
        out[trader_id] = decision
        if decision.get("chosen") is None:
            continue
        out[trader_id] = {**decision, "family": decision["chosen"], "decided_at": decided_at,
                          "run_id": run_id,
                          "path": latest_model(models_root, trader_id, decision["chosen"])}
        write_champion(models_root, trader_id, out[trader_id])
    return out


# --- what the evaluation reports about the champions ------------------------------------------

def champion_importance(champions: dict, models_root: Path) -> pd.DataFrame | None:
    """Gain importance of each LightGBM champion's classifier (one row per model and feature:
    ``model`` is the pointer's path), for the report's feature-importance chart."""
    rows, seen = [], set()
    for decision in champions.values():
        path = decision.get("path")
        if not path or path in seen or decision.get("chosen") not in ("pooled_lgbm", "trader_lgbm"):
            continue
        seen.add(path)
        model = load_model(champion_model_path(models_root, decision))
        # boosters were fitted on arrays: feature names come from the model
        gains = model.boosters["classifier"].feature_importance("gain")
        rows += [{"model": path, "feature": f, "importance": float(g)}
                 for f, g in zip(model.input_names, gains, strict=True)]
    return pd.DataFrame(rows) if rows else None


def champion_predictions(predictions: pd.DataFrame, champions: dict) -> pd.DataFrame:
    """Each trader's out-of-sample rows of its chosen family, as one model named 'champion',
    plus the rules baseline's rows (the benchmark)."""
    chosen = pd.Series({t: d.get("chosen") for t, d in champions.items()}, name="chosen")
    rows = predictions.merge(chosen.rename_axis("trader_id").reset_index(), on="trader_id")
    champion = rows[rows["model"] == rows["chosen"]].assign(model="champion")
    return pd.concat([champion, predictions[predictions["model"] == "rules"]],
                     ignore_index=True).drop(columns="chosen")
