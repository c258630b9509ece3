"""Bench: a replay of the simulated firm with weekly retraining, and drift_report for one date.

    .venv/bin/python -m bench.replay --data-dir bench/out/bench_replay              # 40 traders, 2025
    .venv/bin/python -m bench.replay --data-dir bench/out/r8 --traders 8 --from 2024-08-26 \\
        --to 2024-09-30 --n-trials 3 --drift-traders 500
    .venv/bin/python -m bench.replay --data-dir /tmp/r8 --drift-only   # drift_report only

Runs ``run_replay`` (history from --start, replayed --from..--to: every morning run, label
refresh, drift sensor and the retrains it asks for, weekly retraining on the schedule's Sunday
ticks) in this process, and prints its wall time, the seconds per job from the progress file,
the replay's headline figures and peak RSS. Then times ``champion_drift_report`` for the last
replayed date with the replay's traders, and with ``--drift-traders`` traders: the replay's
traders cloned (same feature history and champion, new ids) up to that count, once fitting every
reference (a morning after the champions changed) and once with the fits stored by an earlier
run (``DriftCache.store``: the other mornings).
A replay resumes from its progress file: re-running with the same arguments continues it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

warnings.filterwarnings("ignore")  # Dagster's beta warnings at import


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--traders", type=int, default=40)
    p.add_argument("--start", default="2024-01-02")
    p.add_argument("--from", dest="first", default="2025-01-02")
    p.add_argument("--to", dest="last", default="2025-12-31")
    p.add_argument("--n-trials", type=int, default=None, help="Optuna trials (default: "
                   "TrainingConfig's)")
    p.add_argument("--retune-sessions", type=int, default=None,
                   help="reuse the last tuned LightGBM hyper-parameters until a fit's window grew "
                   "by more than this many sessions (default: tune every fit)")
    p.add_argument("--mornings", type=int, default=None,
                   help="stop after this many mornings (the history and first training first if "
                   "not done); run again with the same arguments to go on (no report until the "
                   "last morning)")
    p.add_argument("--drift-traders", type=int, default=500)
    p.add_argument("--drift-only", action="store_true",
                   help="only time drift_report on the last morning of the replay already in "
                   "--data-dir (no replay)")
    return p.parse_args()


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _drift_timing(root: Path, day: dt.date, n_traders: int) -> dict:
    import pandas as pd

    from risk_dagster.core.lake import Lake
    from risk_dagster.core.tables import read_feature_history
    from risk_dagster.evaluation.champions import (champion_model_path, read_champion,
                                                   write_champion)
    from risk_dagster.monitoring import MonitoringConfig
    from risk_dagster.monitoring.drift_report import DriftCache, champion_drift_report

    lake = Lake(root)
    history = read_feature_history(lake, day)
    labels = lake.read_df("risk_labels", "date")
    out = {}
    store = Path(tempfile.mkdtemp(prefix="bench_drift_fits_"))  # the lake's store, for the warm run
    t0 = time.perf_counter()
    report = champion_drift_report(history, labels, day, root / "models", MonitoringConfig(),
                                   calendar="XNYS", cache=DriftCache(store=store))
    out["replay_traders"] = {"traders": len(report), "seconds": round(time.perf_counter() - t0, 2)}
    # clones: the same rows and champion under new ids, up to n_traders
    base = sorted(history["trader_id"].unique())
    frames, lab = [history], [labels]
    with tempfile.TemporaryDirectory(prefix="bench_drift_") as tmp:
        models = Path(tmp) / "models"

        def pointer(tid: str) -> dict:  # the lake's model, named by its absolute path
            champ = read_champion(root / "models", tid)
            return {**champ, "path": str(champion_model_path(root / "models", champ))}

        for tid in base:
            write_champion(models, tid, pointer(tid))
        k = 0
        while len(base) * (k + 1) < n_traders:
            k += 1
            ids = {t: f"C{k:02d}{t[-3:]}" for t in base}
            frames.append(history.assign(trader_id=history["trader_id"].map(ids)))
            lab.append(labels[labels["trader_id"].isin(base)].assign(
                trader_id=lambda f: f["trader_id"].map(ids)))
            for t, c in ids.items():
                write_champion(models, c, pointer(t))
        big = pd.concat(frames, ignore_index=True)
        keep = sorted(big["trader_id"].unique())[:n_traders]
        big = big[big["trader_id"].isin(keep)]
        big_labels = pd.concat(lab, ignore_index=True)
        t0 = time.perf_counter()
        report = champion_drift_report(big, big_labels, day, models, MonitoringConfig(),
                                       calendar="XNYS", cache=DriftCache())
        out["cloned"] = {"traders": len(report), "seconds": round(time.perf_counter() - t0, 2),
                         "checked": int((report["status"] == "checked").sum())}
        # the next morning's run: every reference fit already in the store (written by a
        # first run with the store; a clone's predictions differ from its original's, as the
        # pooled model does not know its id, so the replay traders' fits are not theirs)
        champion_drift_report(big, big_labels, day, models, MonitoringConfig(), calendar="XNYS",
                              cache=DriftCache(store=store))
        t0 = time.perf_counter()
        warm = champion_drift_report(big, big_labels, day, models, MonitoringConfig(),
                                     calendar="XNYS", cache=(cache := DriftCache(store=store)))
        out["warm"] = {"seconds": round(time.perf_counter() - t0, 2), "read": cache.stored,
                       "written": cache.written, "same": bool(warm.equals(report))}
    shutil.rmtree(store, ignore_errors=True)
    return out


def main() -> None:
    a = _args()
    root = a.data_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    import dagster as dg

    from risk_dagster.core.calendar import previous_session
    from risk_dagster.core.settings import Settings
    from risk_dagster.defs.build import build_defs
    from risk_dagster.defs.resources import ModelSettings
    from risk_dagster.instance import open_instance, prepare_dagster_home
    from risk_dagster.replay.progress import ReplayProgress
    from risk_dagster.replay_runner import run_replay

    settings = Settings(data_dir=root, source="simulator", sim_traders=a.traders,
                        start_date=dt.date.fromisoformat(a.start),
                        sim_end_date=dt.date.fromisoformat(a.last),
                        scoring_start_date=previous_session(
                            "XNYS", dt.date.fromisoformat(a.first)))
    prepare_dagster_home(settings)
    defs = build_defs(settings)
    resources = dict(defs.resources)
    if a.n_trials is not None or a.retune_sessions is not None:
        resources["models"] = ModelSettings(n_trials=a.n_trials, pooled_n_trials=a.n_trials,
                                            retune_sessions=a.retune_sessions)
    bench_defs = dg.Definitions(assets=defs.assets, asset_checks=defs.asset_checks,
                                jobs=defs.jobs, schedules=defs.schedules, sensors=defs.sensors,
                                resources=resources)
    first, last = dt.date.fromisoformat(a.first), dt.date.fromisoformat(a.last)
    if a.drift_only:
        _print_drift(root, a.drift_traders)
        return
    seen = (len(json.loads(ReplayProgress.path(root).read_text())["events"])
            if ReplayProgress.path(root).exists() else 0)
    started = time.perf_counter()
    # as `risk-dagster replay` opens it (risk_dagster.instance: SQLite synchronous=NORMAL, files
    # kept open; before, the bench's instance synced every commit in full)
    with open_instance(settings) as instance:
        code = run_replay(settings, bench_defs, instance, first, last, stop_after=a.mornings)
    wall = time.perf_counter() - started
    events = json.loads(ReplayProgress.path(root).read_text())["events"]
    mornings = sum(e["kind"] == "morning" for e in events)
    print(f"\nreplay {a.first}..{a.last}, {a.traders} traders, history from {a.start}: "
          f"{wall:,.0f} s this invocation (exit {code}), {mornings} mornings in all, "
          f"{sum(e['kind'] == 'morning' for e in events[seen:])} now")
    for title, part in (("this invocation", events[seen:]), ("every invocation", events)):
        per_job: dict[str, list[float]] = defaultdict(list)
        for e in part:
            if e["kind"] == "run":
                per_job[e["job"]].append(e["seconds"])
        print(f"  runs, {title}: {sum(map(sum, per_job.values())):,.0f} s")
        for job, secs in sorted(per_job.items()):
            print(f"    {job:<22} runs {len(secs):4d}  total {sum(secs):8.1f} s  "
                  f"mean {sum(secs) / len(secs):6.1f} s  max {max(secs):6.1f} s")
    print(f"peak RSS after the replay {_rss_mb():,.0f} MB")
    if a.mornings is None:
        _print_drift(root, a.drift_traders)


def _print_drift(root: Path, n_traders: int) -> None:
    from risk_dagster.replay.progress import ReplayProgress

    progress = json.loads(ReplayProgress.path(root).read_text())
    last_day = max(e["date"] for e in progress["events"] if e["kind"] == "morning")
    timing = _drift_timing(root, dt.date.fromisoformat(last_day), n_traders)
    print(f"drift_report {last_day}: {timing['replay_traders']['traders']} traders "
          f"{timing['replay_traders']['seconds']} s; {timing['cloned']['traders']} traders "
          f"(clones, {timing['cloned']['checked']} checked) {timing['cloned']['seconds']} s; "
          f"again with the reference fits stored {timing['warm']['seconds']} s "
          f"({timing['warm']['read']} read, {timing['warm']['written']} fitted, same report: "
          f"{timing['warm']['same']})")
    print(f"peak RSS {_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
