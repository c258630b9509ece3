"""Bench: weekly retraining of every trader (+ the pooled model) on synthetic data.

Usage (from the repo root):
    .venv/bin/python -m bench.train_synthetic --traders 40 --workers 2

Each worker is a separate OS process (``--part k``) that rebuilds the same seeded data and
trains its share of the traders, so nothing crosses a process boundary but text. The pooled
model is trained by part 0. Prints one JSON line per part and a summary.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from risk_dagster.models import TrainingConfig, save_model, train_candidates
from risk_dagster_tests.factories import make_synthetic


def run_part(args) -> dict:
    features, labels = make_synthetic(args.traders, args.days, args.features, seed=1)
    traders = sorted(features.trader_id.unique())[args.part::args.workers]
    cfg = TrainingConfig()
    out = {"part": args.part, "traders": len(traders), "auc": {}}
    t0, c0 = time.perf_counter(), time.process_time()
    if args.part == 0:
        res = train_candidates(features, labels, None, cfg)
        if args.models_root:
            save_model(res.final_models["pooled_lgbm"], args.models_root)
        out["pooled_s"] = round(time.perf_counter() - t0, 1)
        out["auc"]["pooled_lgbm"] = round(res.cv_metrics["pooled_lgbm"]["auc"], 3)
    aucs: dict[str, list[float]] = {}
    t1 = time.perf_counter()
    for tid in traders:
        res = train_candidates(features, labels, tid, cfg)
        for fam, m in res.cv_metrics.items():
            aucs.setdefault(fam, []).append(m["auc"])
        if args.models_root:
            for model in res.final_models.values():
                save_model(model, args.models_root)
    out["traders_s"] = round(time.perf_counter() - t1, 1)
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    out["cpu_s"] = round(time.process_time() - c0, 1)
    out["auc"].update({f: round(sum(v) / len(v), 3) for f, v in aucs.items()})
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--traders", type=int, default=40)
    p.add_argument("--days", type=int, default=500)
    p.add_argument("--features", type=int, default=150)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--part", type=int, default=None)
    p.add_argument("--models-root", default=None)
    args = p.parse_args()
    if args.part is not None:
        print(json.dumps(run_part(args)), flush=True)
        return
    t0 = time.perf_counter()
    base = [sys.executable, "-m", "bench.train_synthetic", "--traders", str(args.traders),
            "--days", str(args.days), "--features", str(args.features),
            "--workers", str(args.workers)]
    if args.models_root:
        base += ["--models-root", args.models_root]
    procs = [subprocess.Popen(base + ["--part", str(k)], stdout=subprocess.PIPE, text=True)
             for k in range(args.workers)]
    parts = [json.loads(pr.communicate()[0].strip().splitlines()[-1]) for pr in procs]
    for part in parts:
        print(json.dumps(part))
    print(json.dumps({"total_wall_s": round(time.perf_counter() - t0, 1),
                      "traders": args.traders, "days": args.days, "features": args.features}))


if __name__ == "__main__":
    main()
