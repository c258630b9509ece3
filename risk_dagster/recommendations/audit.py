"""The audit record of one morning's recommendations, as a JSON-safe dict.

It pins what the recommendations were made from: a content fingerprint of every input frame, the
model versions used, every threshold (the whole config), the publish checks and the firm summary,
so a recommendation can be explained and reproduced later.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.recommendations.checks import CheckResult
from risk_dagster.recommendations.config import RecommendationConfig

AUDIT_VERSION = 1


def json_safe(value: Any) -> Any:
    """``value`` with dates as ISO text, numpy scalars as Python numbers, NaN/inf as None."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, np.ndarray, pd.Index, pd.Series)):
        return [json_safe(v) for v in value]
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if value is pd.NaT or value is pd.NA:
        return None
    return str(value)


def fingerprint(frame: pd.DataFrame) -> dict[str, Any]:
    """A SHA-256 of the frame's columns, dtypes and values (row order independent of the index),
    with its row count; list cells (reasons) are hashed through their JSON text."""
    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    cells = frame.apply(lambda col: col.map(
        lambda v: json.dumps(json_safe(v)) if isinstance(v, (list, tuple, np.ndarray)) else v)
        if col.dtype == object else col)
    if len(frame):
        digest.update(pd.util.hash_pandas_object(cells, index=False).to_numpy().tobytes())
    return {"sha256": digest.hexdigest(), "rows": int(len(frame))}


def _models(recs: pd.DataFrame) -> list[dict[str, Any]]:
    cols = ["model_family", "model_version", "model_trained_on"]
    used = recs[cols + ["score_source"]].astype(str).drop_duplicates().sort_values(cols)
    return [dict(zip(["family", "version", "trained_on", "score_source"], row))
            for row in used.itertuples(index=False)]


def to_audit_json(recs: pd.DataFrame, firm_summary: Mapping[str, Any], cfg: RecommendationConfig,
                  *, today: dt.date, inputs: Mapping[str, pd.DataFrame],
                  checks: Iterable[CheckResult] = ()) -> dict[str, Any]:
    """The audit record for the morning of ``today``.

    In: the recommendations and firm summary from :func:`recommend`, the config, the input frames
    by name (features, predictions, contributions, history, ...) and the publish check results.
    Out: a dict that ``json.dumps(..., allow_nan=False)`` accepts.
    """
    record = {
        "audit_version": AUDIT_VERSION,
        "for_date": today,
        "inputs": {name: fingerprint(frame) for name, frame in sorted(inputs.items())},
        "output": fingerprint(recs),
        "models": _models(recs),
        "thresholds": cfg.to_dict(),
        "checks": [{"name": c.name, "passed": c.passed, "detail": c.detail} for c in checks],
        "firm_summary": dict(firm_summary),
    }
    return json_safe(record)
