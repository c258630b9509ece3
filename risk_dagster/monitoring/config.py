"""Every threshold of drift detection, performance decay and the retrain sensor, in one place.

Sessions are counted on the trader's own rows (one features row per roster session) for the
drift windows, and on the exchange calendar for the retrain cooldown.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from risk_dagster.monitoring.behaviour import FINGERPRINT


@dataclass(frozen=True)
class MonitoringConfig:
    """Knobs of the monitoring stage.

    Drift (see ``drift.py`` for why these defaults):
    reference_rows: the champion's reference window, the trader's last rows up to its training
        cutoff (~1 year of sessions).
    warmup_rows: the trader's first rows (in the lake) never enter a reference: their 21-day
        features are still filling up, so a trader who joined a few months before the cutoff
        alarmed every week once they matured (bench/drift.py --seed 11 while designing this: one
        such trader alarmed on 83 checks of the stationary months, the next trader on 14). 63 rows cost
        more than they gave: the references of traders present from the lake's first day lost a
        quarter of their rows, and 8.6% of trader-weeks alarmed instead of 2.2% (same bench).
        Longer features get their own warm-up (``drift.reference_window``).
    min_reference_sessions: a trader whose reference has fewer rows is not tested for drift (its
        decay still is): half a year of mature history is about the least that shows a trader's
        normal range across market regimes. On a 100-trader bench before this rule (bench/drift.py
        --traders 100 --affected 25) a trader who joined ~4 months before its cutoff alarmed on
        72 stationary checks (the next trader: 28), and 5.3% of trader-weeks alarmed; with the
        rule, 4.4%.
    current_windows: lengths (rows) of the current windows of the KS tests, each ending at the
        check date.
    shift_features / shift_windows: the behaviour fingerprint and the window lengths of its
        shift test (``behaviour.py``).
    min_current_rows / min_reference_rows: fewer non-NaN values than this in a window -> that
        column is not tested at that scale.
    ks_min_distinct: a feature with fewer distinct values than this in the reference (a count
        over a few sessions such as ``large_losses_5d``, a streak, a flag) is not KS-tested: a
        20-row window of a rolling count is a handful of tied values whose run structure the
        pseudo-window calibration does not capture, and most stationary false alarms of
        bench/drift.py named the KS test of ``large_losses_5d`` (6.0% of trader-weeks with
        it, see the README). 0 tests every feature.
    alpha: false-discovery level of the Benjamini-Hochberg correction across every (column,
        window) test of one check; ``correction`` = ``bh`` or ``bonferroni``.
    calibration_step / calibration_gap: pseudo-windows of the reference start every ``step``
        rows and are compared with the reference minus the window and ``gap`` rows on each side.
    min_inflation / max_inflation: bounds of the per-column inflation factor (genomic control).
    test_predictions: also test ``p_large_loss`` (prediction drift) in the same family.
    Decay:
    decay_window_rows: latest labelled live rows used; min_decay_rows / min_decay_positives: the
        minimums before any decay verdict.
    max_auc_drop: AUC points below the training AUC that count as decay, *and* the live AUC's
        one-sided upper bound (z = ``auc_z``) must be below the training AUC.
    max_brier_rise: relative rise of the Brier score over training that counts as decay.
    size_reduction: size cut on flagged days for the counterfactual benefit (fraction).
    Retrain sensor:
    cooldown_sessions: no retrain of a trader within this many sessions of the last one.
    """

    reference_rows: int = 250
    warmup_rows: int = 21
    min_reference_sessions: int = 120
    current_windows: tuple[int, ...] = (20,)
    shift_features: tuple[str, ...] = FINGERPRINT
    shift_windows: tuple[int, ...] = (5,)
    min_current_rows: int = 5
    min_reference_rows: int = 60
    ks_min_distinct: int = 11
    alpha: float = 0.0005
    correction: str = "bh"
    calibration_step: int = 5
    calibration_gap: int = 10
    min_inflation: float = 1.0
    max_inflation: float = 20.0
    test_predictions: bool = True
    decay_window_rows: int = 60
    min_decay_rows: int = 40
    min_decay_positives: int = 5
    max_auc_drop: float = 0.10
    auc_z: float = 1.645
    max_brier_rise: float = 0.5
    size_reduction: float = 0.5
    cooldown_sessions: int = 20

    def __post_init__(self) -> None:
        if self.correction not in ("bh", "bonferroni"):
            raise ValueError(f"correction must be 'bh' or 'bonferroni', got {self.correction!r}")
        if not 0 < self.alpha < 1:
            raise ValueError("alpha must be in (0, 1)")
        if min(self.current_windows + self.shift_windows, default=self.min_current_rows) \
                < self.min_current_rows:
            raise ValueError("every current window needs >= min_current_rows rows")

    def to_dict(self) -> dict:
        """JSON-safe dict (for run tags and asset metadata)."""
        out = asdict(self)
        for k in ("current_windows", "shift_features", "shift_windows"):
            out[k] = list(out[k])
        return out
