"""Model storage: versioned folders of LightGBM text files + JSON.

Layout under a models root::

    <root>/<trader_id | pooled>/<family>/<version>/{classifier.txt, regressor.txt, var05.txt,
                                                  meta.json}     (LightGBM families)
    <root>/<trader_id | pooled>/<family>/<version>/meta.json     (logistic, rules: coefficients)
    <root>/<trader_id>/champion.json                             (``evaluation.champions``)

A version is ``<cutoff YYYYMMDD>-<8 hex>`` (hash of data fingerprint, config and code version):
re-training the same data with the same code rewrites the same folder; anything else creates a
new one and earlier versions are kept. Folders are written to a temporary name and renamed,
so readers never see half a model. Nothing is pickled.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

import lightgbm as lgb

from risk_dagster.core.trader_ids import validate_trader_id
from risk_dagster.models.baselines import LogisticRiskModel, RulesRiskModel
from risk_dagster.models.config import FAMILIES, POOLED
from risk_dagster.models.lgbm import LgbmRiskModel

META_FILE = "meta.json"
_LOADERS = {"pooled_lgbm": LgbmRiskModel, "trader_lgbm": LgbmRiskModel,
            "logistic": LogisticRiskModel, "rules": RulesRiskModel}


def code_version() -> str:
    """SHA-256 (first 12 hex) of this package's source files."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def _owner_dir(root: Path, owner: str) -> Path:
    return Path(root) / (POOLED if owner == POOLED else validate_trader_id(owner))


def model_version(meta: dict) -> str:
    """``<cutoff>-<hash>`` from the metadata's training window, fingerprint, config and code
    (and the studies whose hyper-parameters it reused, if any)."""
    cutoff = meta["training_window"]["last_label_date"].replace("-", "")
    parts = [meta.get("data_fingerprint"), meta.get("config"), code_version()]
    reused = [r["study"] for r in meta.get("tuning") or [] if r.get("reused")]
    if reused:  # the same rows refitted with another week's hyper-parameters: another model
        parts.append(reused)
    key = json.dumps(parts, sort_keys=True, default=str)
    return f"{cutoff}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def _replace_dir(tmp: Path, final: Path) -> None:
    if final.exists():
        shutil.rmtree(final)  # same version => same inputs; a re-run replaces it
    os.replace(tmp, final)


def save_model(model, root: str | os.PathLike[str]) -> Path:
    """Write ``model`` (a fitted candidate from ``train_candidates``) under ``root``.

    Returns the version folder. meta.json holds the model's metadata (features, parameters,
    CV metrics, training window, data fingerprint, config, calibration) plus family, owner,
    version, code version, LightGBM version and creation time (UTC).
    """
    if model.family not in FAMILIES:
        raise ValueError(f"unknown model family {model.family!r}")
    meta = {**model.meta, "family": model.family, "owner": model.owner}
    meta["version"] = version = model_version(meta)
    family_dir = _owner_dir(Path(root), model.owner) / model.family
    family_dir.mkdir(parents=True, exist_ok=True)
    tmp = family_dir / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        meta["model"] = model.to_files(tmp)
        meta.update(code_version=code_version(), lightgbm_version=lgb.__version__,
                    created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))
        _replace_dir(tmp, family_dir / version)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return family_dir / version


def load_model(path: str | os.PathLike[str]):
    """Load a version folder written by ``save_model``.

    The returned object has ``predict(features) -> DataFrame(p_large_loss, pred_pnl, var_05)``
    (same index as ``features``), ``contributions(features)``, ``features`` and ``meta``.
    """
    path = Path(path)
    meta = json.loads((path / META_FILE).read_text())
    return _LOADERS[meta["family"]].from_files(path, meta)


def list_versions(root: str | os.PathLike[str], owner: str, family: str) -> list[str]:
    """Saved versions of one owner's family, oldest cut-off first."""
    d = _owner_dir(Path(root), owner) / family
    if not d.exists():
        return []
    return sorted(p.name for p in d.iterdir() if p.is_dir() and not p.name.startswith("."))



def latest_meta(root: str | os.PathLike[str], owner: str, family: str) -> dict | None:
    """meta.json of the owner's most recently written version of ``family`` (None if none)."""
    d = _owner_dir(Path(root), owner) / family
    metas = [json.loads((d / v / META_FILE).read_text()) for v in list_versions(root, owner, family)
             if (d / v / META_FILE).exists()]
    return max(metas, key=lambda m: m.get("created_at", "")) if metas else None
