"""Bench: peak RSS and wall time of the pooled model's training (``train_pooled``) on a firm lake.

    .venv/bin/python -m bench.pooled_memory --data-dir bench/out/bench500      # 500 traders x 3 years
    .venv/bin/python -m bench.pooled_memory --data-dir bench/out/bench500 --pooled-trials 2 --folds 2

The lake (features + labels) is built by ``bench.firm_lake``. The training runs in a child
process that does only ``train_pooled(data_dir, cfg)`` (read every trader's features and
labels, normalise per trader, walk-forward folds, final fit, store); its peak RSS is its own
``VmHWM`` (/proc/self/status). ``cfg`` is ``TrainingConfig()`` with the overrides given
(``--pooled-trials``, ``--folds``): the design frame, whose copies set the peak, does not depend
on them. The script imports only ``train_pooled`` and ``TrainingConfig``, so it can be run
against another checkout's code (its ``PYTHONPATH``) to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def vm_hwm_mb() -> float:
    """This process's peak resident set (MB), from /proc/self/status (NaN where absent)."""
    status = Path("/proc/self/status")
    for line in status.read_text().splitlines() if status.exists() else []:
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _child(args) -> dict:
    from risk_dagster.models import TrainingConfig
    from risk_dagster.models.fleet import train_pooled
    from risk_dagster.core.lake import Lake

    overrides = {k: v for k, v in (("pooled_n_trials", args.pooled_trials),
                                   ("n_folds", args.folds)) if v is not None}
    cfg = TrainingConfig(**overrides)
    con = Lake(args.data_dir).connect(["trader_features"])
    shape = (con.execute("SELECT count(*) FROM trader_features").fetchone()[0],
             len(con.execute("DESCRIBE trader_features").fetchall()))
    con.close()
    started = time.perf_counter()
    summary = train_pooled(args.data_dir, cfg)
    return {"seconds": round(time.perf_counter() - started, 1), "rows": shape[0],
            "columns": shape[1], "auc": summary["cv"].get("pooled_lgbm", {}).get("auc"),
            "overrides": overrides, "peak_rss_mb": round(vm_hwm_mb())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--pooled-trials", type=int)
    parser.add_argument("--folds", type=int)
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args)))
        return
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--data-dir", args.data_dir]
    for flag, value in (("--pooled-trials", args.pooled_trials), ("--folds", args.folds)):
        if value is not None:
            cmd += [flag, str(value)]
    load = "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit(f"train_pooled failed:\n{proc.stderr[-3000:]}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"train_pooled on {args.data_dir}: {r['rows']:,} rows x {r['columns']} columns, "
          f"TrainingConfig({r['overrides']}): {r['seconds']} s, pooled AUC {r['auc']}, "
          f"peak RSS (child VmHWM) {r['peak_rss_mb']:,} MB  [load {load} at start]")


if __name__ == "__main__":
    main()
