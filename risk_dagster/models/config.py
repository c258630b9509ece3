"""Training configuration of the risk models: one typed place for every knob a user may tune.

Sessions are counted on the grid of distinct ``trade_date`` values present in the training frame
(every roster day of the trader, or of the firm for the pooled model).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

POOLED = "pooled"
FAMILIES = ("pooled_lgbm", "trader_lgbm", "logistic", "rules")

# Features the rules baseline reads (names fixed by the trader_features contract).
RULE_FEATURES = ("loss_streak", "drawdown_21d", "net_pnl_d0", "pnl_vol_21d", "large_losses_5d")

# Columns of the features frame that are keys, never model inputs.
KEY_COLUMNS = ("trade_date", "trader_id")


@dataclass(frozen=True)
class TrainingConfig:
    """Knobs of walk-forward validation, feature selection, tuning and the final fit.

    n_folds / min_train_sessions: outer walk-forward test folds over the sessions after the first
        ``min_train_sessions``; the training window expands fold by fold.
    embargo_sessions: sessions between the last label_date used in training and a fold's first
        test date (>= 1; purging alone already drops label_date >= test start).
    inner_folds: walk-forward folds inside a training window, used by Optuna.
    calib_frac: fraction of the training sessions (the latest ones) held out to calibrate the
        classifier probabilities; the models are fitted on the earlier part only.
    max_features: features kept by selection (<= 30); logistic_features: the baseline's few.
    n_trials / pooled_n_trials / timeout_s: Optuna trial budget per study and time budget (s).
    max_rounds / early_stopping_rounds: LightGBM boosting rounds and patience.
    max_tuning_rows: pooled training windows larger than this are subsampled (seeded) for
        feature selection and tuning; the final boosters still see every row.
    min_trader_rows / min_trader_positives: history a trader needs for a per-trader LightGBM
        (complete labels and large-loss days in the training window).
    min_baseline_rows / min_baseline_positives: the same minimums for the logistic and rules
        baselines; min_pooled_rows for the pooled model.
    norm_min_periods: prior observations a trader needs before the pooled model's expanding
        normalisation gives a value (NaN before).
    rules_window / rules_min_periods: trailing traded days for the rules baseline's P&L mean and
        5% quantile.
    optuna_storage: None (in memory), ``journal:<path>`` or a database URL.
    cutoff: last label_date the final (serving) fit may use; None means every complete label.
    retune_sessions: None: every LightGBM fit (each walk-forward fold and the final fit) runs
        its own Optuna study. N: a fit reuses the structure and boosting rounds of the newest
        study stored with the owner's latest model of that family whose fit rows end at most N
        sessions before this fit's and whose labels all end before this fit's do (so nothing
        it learnt comes from after this fit's window); else it tunes afresh. A weekly retrain
        then refits with the last tuned hyper-parameters and re-tunes every ~N sessions.
    """

    n_folds: int = 4
    min_train_sessions: int = 120
    embargo_sessions: int = 1
    inner_folds: int = 3
    calib_frac: float = 0.2
    max_features: int = 30
    logistic_features: int = 8
    corr_threshold: float = 0.9
    n_trials: int = 15
    pooled_n_trials: int = 10
    timeout_s: float = 60.0
    max_rounds: int = 300
    early_stopping_rounds: int = 25
    pruner_startup_trials: int = 5
    max_tuning_rows: int = 12_000
    min_trader_rows: int = 250
    min_trader_positives: int = 20
    min_baseline_rows: int = 60
    min_baseline_positives: int = 5
    min_pooled_rows: int = 500
    min_calib_positives: int = 10
    norm_min_periods: int = 5
    rules_window: int = 60
    rules_min_periods: int = 20
    seed: int = 7
    optuna_storage: str | None = None
    cutoff: dt.date | None = None
    retune_sessions: int | None = None

    def __post_init__(self) -> None:
        if self.embargo_sessions < 1:
            raise ValueError("embargo_sessions must be >= 1")
        if not 1 <= self.max_features <= 30:
            raise ValueError("max_features must be in 1..30")
        if not 0.0 < self.calib_frac < 0.5:
            raise ValueError("calib_frac must be in (0, 0.5)")
        if self.n_folds < 1 or self.inner_folds < 1:
            raise ValueError("n_folds and inner_folds must be >= 1")
        if self.retune_sessions is not None and self.retune_sessions < 0:
            raise ValueError("retune_sessions must be >= 0 (or None: tune every fit)")

    def as_json(self) -> dict:
        """JSON-safe dict of the config (stored in each model's metadata)."""
        out = asdict(self)
        out["cutoff"] = self.cutoff.isoformat() if self.cutoff else None
        if self.optuna_storage and "://" in self.optuna_storage:  # no password in metadata
            from sqlalchemy.engine import make_url

            out["optuna_storage"] = make_url(self.optuna_storage).render_as_string(hide_password=True)
        return out
