"""Benchmark: build_features on a 500-trader x 750-session synthetic panel.

Run: .venv/bin/python -m bench.build_features [traders] [sessions]
Prints rows, feature columns, seconds and peak RSS (MiB).
"""

from __future__ import annotations

import resource
import sys
import time

from risk_dagster.features import build_features
from risk_dagster.labels import build_labels
from risk_dagster_tests.factories import make_panel


def main() -> None:
    n_traders = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    n_sessions = int(sys.argv[2]) if len(sys.argv) > 2 else 750
    panel = make_panel(n_traders, n_sessions, seed=11)
    rss_panel = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    feats = build_features(panel)
    t1 = time.perf_counter()
    labels = build_labels(panel)
    t2 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    done = labels["label_status"] == "complete"
    print(f"panel rows={len(panel)} features={feats.shape[1] - 2} "
          f"build_features_s={t1 - t0:.1f} build_labels_s={t2 - t1:.1f} "
          f"peak_rss_mib={rss:.0f} (after panel only: {rss_panel:.0f}) "
          f"large_loss_rate={labels.loc[done, 'large_loss'].mean():.3f}")


if __name__ == "__main__":
    main()
