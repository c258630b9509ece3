"""Bench: the weekly retraining (pooled model + every trader's candidates) on a simulated firm.

    .venv/bin/python -m bench.train --data-dir bench/out/bench40 --traders 40 --start 2024-01-02
    .venv/bin/python -m bench.train --data-dir bench/out/bench500 --sample 50   # 50 of 500 traders

Targets (issue): <= 3 min for 40 traders, <= 30 min for 500 traders, on 2 cores. Runs the real
training path of the weekly job with ``TrainingConfig()`` defaults (the ``ModelSettings``
defaults): ``train_pooled(data_dir, cfg)`` then ``train_traders(data_dir, traders, cfg,
pool=local_pool(2))``, in a child process (peak RSS: that process, and the largest spawned worker).
The lake (raw, panel, features, labels) is built once by ``bench.firm_lake`` and reused.

Trials: the training API returns no trial counts for the walk-forward folds, so this module
wraps ``optuna.study.Study.optimize`` (observing only: it logs each study's trial states and
seconds to ``$BENCH_TRIAL_LOG`` after the call). The wrapper is installed when the module is
imported, which includes the spawned training workers (they import the parent's main module).
With ``--sample N`` only N traders (evenly spaced over the roster) are trained, and the
500-trader time is an extrapolation: pooled + (all traders / N) x sample time, said as such.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

TRIAL_LOG_ENV = "BENCH_TRIAL_LOG"


def _vm_hwm_mb() -> float:
    """This process's own peak RSS (VmHWM; unlike ru_maxrss it is not inherited from the
    pre-exec fork image of a spawned worker)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _install_trial_log() -> None:
    """Log every Optuna study's trial states once it ends (only when $BENCH_TRIAL_LOG is set)."""
    log = os.environ.get(TRIAL_LOG_ENV)
    if not log:
        return
    import optuna

    original = optuna.study.Study.optimize
    if getattr(original, "_bench_wrapped", False):
        return

    def optimize(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            states = Counter(t.state.name for t in self.trials)
            line = json.dumps({"study": self.study_name, "states": states,
                               "seconds": round(time.perf_counter() - started, 2),
                               "pid": os.getpid(), "hwm_mb": _vm_hwm_mb()})
            with open(log, "a") as fh:  # one short line per append: whole lines, any process
                fh.write(line + "\n")

    optimize._bench_wrapped = True
    optuna.study.Study.optimize = optimize


_install_trial_log()


def _load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _traders(data_dir: str) -> list[str]:
    from risk_dagster.core.lake import Lake

    con = Lake(data_dir).connect(["trader_features"])
    return [r[0] for r in con.execute(
        "SELECT DISTINCT trader_id FROM trader_features ORDER BY 1").fetchall()]


def run(args) -> dict:
    from risk_dagster.models import TrainingConfig
    from risk_dagster.models.compute import local_pool
    from risk_dagster.models.fleet import train_pooled, train_traders

    cfg = TrainingConfig()
    everyone = _traders(args.data_dir)
    step = max(1, len(everyone) // args.sample) if args.sample else 1
    traders = everyone[::step][: args.sample] if args.sample else everyone
    load0 = _load()
    t0 = time.perf_counter()
    pooled = train_pooled(args.data_dir, cfg)
    t1 = time.perf_counter()
    rss_pooled = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load1 = _load()
    with local_pool(args.workers) as pool:
        summaries = train_traders(args.data_dir, traders, cfg, pool=pool)
    t2 = time.perf_counter()
    per_trader = sorted(s["seconds"] for s in summaries)
    return {
        "roster": len(everyone), "trained": len(traders), "pooled_s": t1 - t0,
        "traders_s": t2 - t1, "load_pooled": load0, "load_traders": load1, "load_end": _load(),
        "pooled_auc": pooled["cv"].get("pooled_lgbm", {}).get("auc"),
        "with_trader_lgbm": sum("trader_lgbm" in s["families"] for s in summaries),
        "per_trader_s": {"median": per_trader[len(per_trader) // 2], "max": per_trader[-1],
                         "sum": sum(per_trader)},
        "rss_after_pooled_mb": rss_pooled,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def _trial_summary(path: Path) -> dict:
    """Trials per family (pooled_lgbm / trader_lgbm) from the study log."""
    out: dict = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        rec = json.loads(line)
        hwm = out.setdefault("_hwm_by_pid", {})
        hwm[rec["pid"]] = max(hwm.get(rec["pid"], 0.0), rec["hwm_mb"])
        family = rec["study"].split(".")[1] if rec["study"].count(".") >= 2 else "other"
        fam = out.setdefault(family, {"studies": 0, "trials": Counter(), "seconds": 0.0,
                                      "max_study_s": 0.0})
        fam["studies"] += 1
        fam["trials"].update(rec["states"])
        fam["seconds"] += rec["seconds"]
        fam["max_study_s"] = max(fam["max_study_s"], rec["seconds"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="bench/out/bench40")
    parser.add_argument("--traders", type=int, default=40, help="firm size (building the lake)")
    parser.add_argument("--start", default="2024-01-02")
    parser.add_argument("--end", default="2025-12-31")
    parser.add_argument("--sample", type=int, default=0, help="train only N traders (0 = all)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--phase", choices=["run"])
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(run(args)))
        return
    from bench.firm_lake import ensure_features, ensure_raw

    raw = ensure_raw(args.data_dir, args.traders, args.start, args.end)
    ensure_features(args.data_dir)
    log = Path(args.data_dir) / f".bench_trials_{os.getpid()}.jsonl"
    log.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "bench.train", "--data-dir", args.data_dir, "--sample",
           str(args.sample), "--workers", str(args.workers), "--phase", "run"]
    started = time.perf_counter()
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True,
                          env={**os.environ, TRIAL_LOG_ENV: str(log)})
    wall = time.perf_counter() - started
    if proc.returncode:
        sys.exit(f"training failed:\n{proc.stderr[-3000:]}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    trials = _trial_summary(log)
    hwm = trials.pop("_hwm_by_pid", {})
    print(f"lake {args.data_dir}: {raw['traders']} traders, {raw['start']}..{raw['end']}, "
          f"{raw['fills']:,} fills; TrainingConfig() defaults, workers={args.workers}")
    print(f"  train_pooled:   {r['pooled_s']:7.1f} s  (pooled AUC {r['pooled_auc']})  "
          f"[{r['load_pooled']} at start]")
    print(f"  train_traders:  {r['traders_s']:7.1f} s  for {r['trained']} of {r['roster']} traders "
          f"({r['with_trader_lgbm']} with a trader_lgbm; per trader median "
          f"{r['per_trader_s']['median']:.1f} s, max {r['per_trader_s']['max']:.1f} s, "
          f"sum {r['per_trader_s']['sum']:.0f} s)  [{r['load_traders']} at start, "
          f"{r['load_end']} at end]")
    total = r["pooled_s"] + r["traders_s"]
    print(f"  total {total:.1f} s ({total / 60:.1f} min), child process wall {wall:.1f} s")
    for family, t in sorted(trials.items()):
        print(f"  trials {family}: {sum(t['trials'].values())} in {t['studies']} studies "
              f"({dict(t['trials'])}); {t['seconds']:.0f} s inside optimize, longest study "
              f"{t['max_study_s']:.1f} s")
    print(f"  peak RSS: training process {r['peak_rss_mb']:,.0f} MB (after pooled "
          f"{r['rss_after_pooled_mb']:,.0f} MB); workers' own VmHWM at their last study end "
          f"{sorted(round(v) for v in hwm.values())} MB (pids incl. the training process); "
          f"RUSAGE_CHILDREN {r['worker_peak_rss_mb']:,.0f} MB counts each spawned worker's "
          "pre-exec fork of the training process, so it is at least that process's RSS")
    if r["trained"] < r["roster"]:
        est = r["pooled_s"] + r["traders_s"] * r["roster"] / r["trained"]
        print(f"  EXTRAPOLATION to all {r['roster']} traders: pooled {r['pooled_s']:.0f} s + "
              f"{r['roster']}/{r['trained']} x {r['traders_s']:.0f} s = {est:.0f} s "
              f"({est / 60:.1f} min)")
    else:
        est = total
    target = 180 if r["roster"] <= 40 else 1800
    print(f"  target <= {target // 60} min for {r['roster']} traders: "
          f"{'met' if est <= target else 'MISSED'}")


if __name__ == "__main__":
    main()
