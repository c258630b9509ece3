"""Optuna tuning of LightGBM inside a training window (purged inner walk-forward folds).

TPE with a fixed seed, a trial and a time budget, early stopping per fold, and pruning by fold:
after each inner fold the running mean validation loss is reported with ``trial.report`` and the
trial stops when ``trial.should_prune()`` (median pruner). Storage is pluggable: in memory, a
journal file (several processes) or a database URL (several machines).
"""

from __future__ import annotations

import contextlib

import lightgbm as lgb
import numpy as np
import optuna
from optuna.storages.journal import JournalFileBackend

from risk_dagster.models.config import TrainingConfig
from risk_dagster.models.splits import Fold

BASE_PARAMS = {
    "verbosity": -1, "num_threads": 1, "deterministic": True, "force_row_wise": True,
    "bagging_freq": 1, "feature_pre_filter": False, "min_data_per_group": 50,
}
OBJECTIVES = {
    "classifier": {"objective": "binary", "metric": "binary_logloss"},
    "regressor": {"objective": "regression", "metric": "l2"},
    "var05": {"objective": "quantile", "alpha": 0.05, "metric": "quantile"},
}


def make_storage(spec: str | None) -> optuna.storages.BaseStorage | str | None:
    """Optuna storage from a spec: None/'memory' -> in memory, 'journal:<path>' -> a journal
    file shared by processes, anything with '://' -> a database URL (RDB storage)."""
    if spec is None or spec == "memory":
        return None
    if spec.startswith("journal:"):
        return optuna.storages.JournalStorage(JournalFileBackend(spec[len("journal:"):]))
    if "://" in spec:
        return _rdb_storage(spec)
    raise ValueError(f"unknown optuna storage spec {spec!r}")


# Any fixed 64-bit key: pg_advisory_lock serialises the processes creating Optuna's schema.
_SCHEMA_LOCK_KEY = 7_141_592_653


def _rdb_storage(url: str) -> optuna.storages.RDBStorage:
    """RDB storage at ``url``. On PostgreSQL the schema first on the URL's search_path is created
    if missing, and Optuna's tables with it, under an advisory lock: trainings started together
    (trader processes, parallel steps) would otherwise race to create them and one would fail."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    if engine.dialect.name != "postgresql":
        return optuna.storages.RDBStorage(url)
    try:
        with engine.connect() as con:
            con.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            try:
                schema = con.execute(sa.text("SHOW search_path")).scalar().split(",")[0].strip()
                if schema and not schema.startswith(('"$user"', "$user")):
                    quoted = engine.dialect.identifier_preparer.quote(schema.strip('"'))
                    con.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {quoted}"))
                    con.commit()
                return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True})
            finally:
                con.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _SCHEMA_LOCK_KEY})
                con.commit()
    finally:
        engine.dispose()


def lgb_params(kind: str, structure: dict, seed: int) -> dict:
    """Full LightGBM parameters for ``kind`` (classifier/regressor/var05) and tuned structure."""
    return {**BASE_PARAMS, **OBJECTIVES[kind], **structure, "seed": seed}


def suggest_structure(trial: optuna.Trial) -> dict:
    """The search space (shared by the three boosters of a candidate)."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.2, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 4, 31, log=True),
        "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 10, 80, log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
        "bagging_fraction": trial.suggest_float("bagging_fraction", 0.6, 1.0),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 10.0, log=True),
    }


def _dataset(X: np.ndarray, y: np.ndarray, cat: list[int], reference=None) -> lgb.Dataset:
    # feature_pre_filter=False lets one binned Dataset serve trials with different
    # min_data_in_leaf, so each fold is binned once per study instead of once per trial.
    return lgb.Dataset(X, label=y, categorical_feature=cat or "auto", reference=reference,
                       free_raw_data=False, params={"feature_pre_filter": False, "verbosity": -1})


def _train(params: dict, dtrain: lgb.Dataset, rounds: int, dvalid=None, patience: int = 0):
    if dvalid is None:
        return lgb.train(params, dtrain, num_boost_round=rounds)
    return lgb.train(params, dtrain, num_boost_round=rounds, valid_sets=[dvalid],
                     callbacks=[lgb.early_stopping(patience, verbose=False)])


def train_booster(
    params: dict, X: np.ndarray, y: np.ndarray, rounds: int, cat: list[int],
    valid: tuple[np.ndarray, np.ndarray] | None = None, patience: int = 0,
) -> lgb.Booster:
    """One booster; with ``valid`` it stops early after ``patience`` rounds without progress."""
    dtrain = _dataset(X, y, cat)
    dvalid = None if valid is None else _dataset(valid[0], valid[1], cat, reference=dtrain)
    return _train(params, dtrain, rounds, dvalid, patience)


def _best(booster: lgb.Booster) -> tuple[float, int]:
    metric = next(iter(booster.best_score["valid_0"].values()))
    return float(metric), max(1, int(booster.best_iteration or booster.current_iteration()))


def tune_classifier(
    X: np.ndarray, y: np.ndarray, folds: list[Fold], cat: list[int], cfg: TrainingConfig,
    *, study_name: str, n_trials: int, storage=None,
) -> tuple[dict, int, optuna.Study]:
    """Tune the classifier structure on inner folds; returns (structure, rounds, study).

    The objective is the mean validation log-loss over ``folds`` (rows of X only); ``rounds`` is
    the best trial's mean early-stopping iteration.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    sets = []
    for f in folds:
        dtrain = _dataset(X[f.train_idx], y[f.train_idx], cat)
        sets.append((dtrain, _dataset(X[f.test_idx], y[f.test_idx], cat, reference=dtrain)))

    def objective(trial: optuna.Trial) -> float:
        params = lgb_params("classifier", suggest_structure(trial), cfg.seed)
        losses, iters = [], []
        for step, (dtrain, dvalid) in enumerate(sets):
            b = _train(params, dtrain, cfg.max_rounds, dvalid, cfg.early_stopping_rounds)
            loss, it = _best(b)
            losses.append(loss)
            iters.append(it)
            trial.report(float(np.mean(losses)), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        trial.set_user_attr("rounds", int(round(np.mean(iters))))
        return float(np.mean(losses))

    if storage is not None:  # a re-run replaces its study
        with contextlib.suppress(KeyError):  # (listing every study grows with the history)
            optuna.delete_study(study_name=study_name, storage=storage)
    study = optuna.create_study(
        storage=storage, study_name=study_name, direction="minimize",
        # A third of a small budget for random start-up trials, so TPE still gets most of it.
        sampler=optuna.samplers.TPESampler(seed=cfg.seed,
                                           n_startup_trials=max(3, n_trials // 3)),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=cfg.pruner_startup_trials),
    )
    study.optimize(objective, n_trials=n_trials, timeout=cfg.timeout_s)
    best = study.best_trial
    structure = {k: best.params[k] for k in best.params}
    return structure, int(best.user_attrs["rounds"]), study


def rounds_by_early_stopping(
    kind: str, structure: dict, X: np.ndarray, y: np.ndarray, fold: Fold, cat: list[int],
    cfg: TrainingConfig,
) -> int:
    """Boosting rounds for the regressor / var05 booster, early-stopped on one inner fold."""
    b = train_booster(lgb_params(kind, structure, cfg.seed), X[fold.train_idx], y[fold.train_idx],
                      cfg.max_rounds, cat, (X[fold.test_idx], y[fold.test_idx]),
                      cfg.early_stopping_rounds)
    return _best(b)[1]
