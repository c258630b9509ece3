"""Bench: the whole pipeline at scale, one stage per process: wall time and peak RSS of each.

    .venv/bin/python -m bench.scale --traders 5000 --days 252          # the issue's size
    .venv/bin/python -m bench.scale --traders 200 --days 120 --workers 2
    .venv/bin/python -m bench.scale --quick                           # smoke run, small budgets

Stages (each a fresh ``python`` process, so its peak RSS is its own ``VmHWM``):
  simulate      the simulated firm's fills and totals landed as Parquet in the landing zone
  ingest        the ``raw_trades`` + ``trader_registry`` assets over every date (one run; the
                trader partitions are registered in one call)
  features      ``trader_day_panel``, ``trader_features``, ``risk_labels`` over every date
  pooled        ``pooled_model`` alone (every trader's rows), so its wall time and peak RSS are
                its own
  train_local   ``trader_models`` (local pool of ``--workers`` processes) and
                ``model_evaluation``: one run over all trader partitions, or with
                ``--train-traders N`` over the first N trader partitions only (the others are
                served their fallback champion)
  train_dask    ``trader_models`` again on a ``distributed.LocalCluster`` of ``--workers``
                single-threaded worker processes (``DaskCompute``); its predictions must equal
                train_local's (same seeds), which the bench asserts
  score         ``score_date_job``'s assets for the last date
  drift         ``drift_report`` for the last date
Every stage runs the real assets through ``dg.materialize`` on one Dagster instance under the
data directory, with the resources ``definitions.py`` builds (``--quick`` shrinks the training
budgets). Worker peaks are the workers' own ``VmHWM`` (reported by each trader's training task,
and by each Dask worker). Training measured: the pooled stage + train_local, wall time (with
every trader partition trained, the real figure). Extrapolation to N workers, from this run's
per-trader timings: sum of per-trader seconds / N, and the ``--traders`` figure as the measured
mean per trader x traders / N (extrapolated, and printed as such).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STAGES = ("simulate", "ingest", "features", "pooled", "train_local", "train_dask", "score",
          "drift")
QUICK = {"traders": 6, "days": 140, "workers": 2}
QUICK_MODELS = {"n_trials": 2, "pooled_n_trials": 2, "n_folds": 2, "min_train_sessions": 60}


def _peak_mb() -> float:
    from risk_dagster.models.compute import peak_rss_mb

    return peak_rss_mb() or float("nan")


def _env(args) -> dict:
    return {"RISK_DATA_DIR": args.data_dir, "RISK_SOURCE": "landing",
            "RISK_START_DATE": args.start, "RISK_SIM_TRADERS": str(args.traders),
            "DAGSTER_HOME": str(Path(args.data_dir) / "dagster_home"),
            "RISK_LOG_LEVEL": "ERROR", "DO_NOT_TRACK": "1"}


def _dates(args) -> list[dt.date]:
    from risk_dagster.core.calendar import sessions

    start = dt.date.fromisoformat(args.start)
    days = sessions("XNYS", start, start + dt.timedelta(days=2 * args.days + 10))
    return [d.date() for d in days[: args.days]]


def simulate(args) -> dict:
    from risk_dagster.ingest.inbox import land
    from risk_dagster.simulator import SimulationConfig, iter_simulation

    dates = _dates(args)
    cfg = SimulationConfig(n_traders=args.traders, start=dates[0], end=dates[-1], seed=7)
    fills = 0
    for batch in iter_simulation(cfg, chunk_sessions=20):
        fills += batch.fills.num_rows
        land(Path(args.data_dir), "fills", "simulator", "scale", batch.fills.to_pandas())
        land(Path(args.data_dir), "totals", "simulator", "scale", batch.totals.to_pandas())
    return {"detail": f"{fills:,} fills, {len(dates)} sessions {dates[0]}..{dates[-1]}"}


def _materialize(args, selection, first: str, last: str, resources: dict | None = None):
    import dagster as dg

    from risk_dagster.definitions import defs
    from risk_dagster.defs.resources import ModelSettings
    from risk_dagster.pipeline import RANGE_END_TAG, RANGE_START_TAG, prepare_dagster_home
    from risk_dagster.core.settings import load_settings

    prepare_dagster_home(load_settings())
    res = dict(defs.resources)
    if args.quick:
        res["models"] = ModelSettings(**QUICK_MODELS)
    res.update(resources or {})
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize(list(defs.assets), selection=selection, instance=instance,
                                resources=res, raise_on_error=False,
                                tags={RANGE_START_TAG: first, RANGE_END_TAG: last})
        traders = instance.get_dynamic_partitions("trader")
    if not result.success:
        errors = [e.message for e in result.all_events if e.is_failure][:3]
        raise SystemExit(f"stage failed: {errors}")
    metadata = {"steps_s": {e.step_key: round(e.event_specific_data.duration_ms / 1000, 1)
                            for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}}
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        metadata.setdefault(mat.asset_key.to_user_string(), {k: v.value for k, v in
                                                               mat.metadata.items()})
    return metadata, traders


def _date_range(args) -> tuple[str, str]:
    dates = _dates(args)
    return dates[0].isoformat(), dates[-1].isoformat()


def ingest(args) -> dict:
    import dagster as dg

    meta, traders = _materialize(args, dg.AssetSelection.groups("ingest"), *_date_range(args))
    return {"detail": f"{len(traders)} trader partitions registered; " + _steps(meta)}


def features(args) -> dict:
    import dagster as dg

    meta, _ = _materialize(args, dg.AssetSelection.groups("features"), *_date_range(args))
    return {"detail": _steps(meta)}


def _steps(meta: dict) -> str:
    return "steps " + ", ".join(f"{k} {v:.1f} s" for k, v in meta["steps_s"].items())


def _trader_stats(meta: dict) -> dict:
    tm = meta["trader_models"]
    return {"trader_models_s": tm["seconds"], "trader_sum_s": tm["trader_seconds_sum"],
            "trader_max_s": tm["trader_seconds_max"], "worker_peak_mb": tm["worker_peak_rss_mb"],
            "traders": tm["traders"], "compute": tm["compute"], "steps_s": meta["steps_s"],
            "with_lgbm": tm.get("with_trader_lgbm", 0)}


def _predictions_fingerprint(data_dir: str) -> str:
    from risk_dagster.core.lake import Lake
    from risk_dagster.models.fleet import TRADER_PREDICTIONS
    from risk_dagster.models.frames import fingerprint

    preds = Lake(data_dir).read_df(TRADER_PREDICTIONS, "trader")
    return fingerprint(preds.sort_values(["trader_id", "model", "fold", "trade_date"])
                       .reset_index(drop=True))


def pooled(args) -> dict:
    import dagster as dg

    meta, _ = _materialize(args, dg.AssetSelection.assets("pooled_model"), *_date_range(args))
    pm = meta["pooled_model"]
    return {"detail": f"pooled_model {pm['seconds']:.1f} s, {pm['oos_rows']:,} OOS rows, "
                      f"AUC {pm['auc']}"}


def train_local(args) -> dict:
    import dagster as dg

    from risk_dagster.defs.compute import LocalPoolCompute

    selection = dg.AssetSelection.assets("trader_models", "model_evaluation")
    meta, _ = _train(args, selection, LocalPoolCompute(workers=args.workers))
    return {**_trader_stats(meta), "predictions": _predictions_fingerprint(args.data_dir)}


def _train(args, selection, compute):
    import dagster as dg

    from risk_dagster.core.settings import load_settings
    from risk_dagster.pipeline import prepare_dagster_home

    prepare_dagster_home(load_settings())
    with dg.DagsterInstance.get() as instance:
        traders = instance.get_dynamic_partitions("trader")
    if args.train_traders:
        traders = traders[: args.train_traders]
    return _materialize(args, selection, traders[0], traders[-1], {"compute": compute})


def train_dask(args) -> dict:
    import dagster as dg
    from distributed import Client, LocalCluster

    from risk_dagster.defs.compute import DaskCompute
    from risk_dagster.models.compute import peak_rss_mb

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster:
        meta, _ = _train(args, dg.AssetSelection.assets("trader_models"),
                         DaskCompute(scheduler_address=cluster.scheduler_address))
        with Client(cluster.scheduler_address) as client:
            workers_mb = max(client.run(peak_rss_mb).values())
    stats = _trader_stats(meta)
    stats["worker_peak_mb"] = max(stats["worker_peak_mb"], workers_mb)
    return {**stats, "predictions": _predictions_fingerprint(args.data_dir)}


def score(args) -> dict:
    import dagster as dg

    last = _date_range(args)[1]
    meta, _ = _materialize(args, dg.AssetSelection.groups("recommendations"), last, last)
    return {"detail": f"date {last}: " + _steps(meta)}


def drift(args) -> dict:
    import dagster as dg

    last = _date_range(args)[1]
    meta, _ = _materialize(args, dg.AssetSelection.groups("monitoring"), last, last)
    return {"detail": f"date {last}: " + _steps(meta)}


def _run_stage(args, stage: str) -> dict:
    cmd = [sys.executable, "-m", "bench.scale", "--stage", stage, "--data-dir", args.data_dir,
           "--traders", str(args.traders), "--days", str(args.days), "--start", args.start,
           "--workers", str(args.workers), "--train-traders", str(args.train_traders)] + (
               ["--quick"] if args.quick else [])
    load = "{:.1f}".format(os.getloadavg()[0])
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **_env(args)},
                          cwd=Path(__file__).resolve().parents[1])
    wall = time.perf_counter() - started
    if proc.returncode:
        sys.exit(f"stage {stage} failed:\n{proc.stderr[-4000:]}")
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "wall_s": wall, "load": load}


def _stage_line(stage: str, r: dict) -> str:
    extra = r.get("detail", "")
    if stage.startswith("train"):
        extra = (f"{r['compute']}; {r['traders']} traders, {r['with_lgbm']} with a LightGBM of "
                 f"their own; trader_models {r['trader_models_s']:.1f} s, per trader "
                 f"sum {r['trader_sum_s']:.1f} s, max {r['trader_max_s']:.1f} s; worker peak "
                 f"RSS {r['worker_peak_mb']:,.0f} MB; "
                 + ", ".join(f"{k} {v:.1f} s" for k, v in r["steps_s"].items()))
    return (f"  {stage:<12} {r['wall_s']:8.1f} s  peak RSS {r['peak_rss_mb']:7,.0f} MB  "
            f"[load {r['load']}]  {extra}")


def _report(args, out: dict) -> None:
    if "ingest" in out and "features" in out:
        f2f = out["ingest"]["wall_s"] + out["features"]["wall_s"]
        print(f"  fills -> features (ingest + features): {f2f:.1f} s (target <= 300 s at 5000 x 252)")
    local = out.get("train_local")
    if local:
        serial = local["wall_s"] - local["trader_models_s"]
        mean = local["trader_sum_s"] / max(1, local["traders"])
        print(f"  training per trader (measured): mean {mean:.1f} s, max "
              f"{local['trader_max_s']:.1f} s (sum {local['trader_sum_s']:.0f} s over "
              f"{local['traders']} traders); serial part of train_local (process start, "
              f"model_evaluation) {serial:.0f} s")
        for n in sorted({args.workers, 8, 32, 128}):
            print(f"  trader_models extrapolated on {n:>3} workers: {local['traders']} traders "
                  f"{local['trader_sum_s'] / n:.0f} s; {args.traders} traders x {mean:.2f} s / "
                  f"{n} = {args.traders * mean / n / 60:.1f} min (+ the serial part, which grows "
                  f"with rows)")
        if "pooled" in out:
            total = out["pooled"]["wall_s"] + local["wall_s"]
            what = ("measured, every trader" if local["traders"] == args.traders
                    else f"measured, {local['traders']} of {args.traders} traders")
            print(f"  training pooled + train_local ({what}): {total / 60:.1f} min on "
                  f"{args.workers} workers (target <= 60 min at 5000 x 252)")
    if local and "train_dask" in out:
        same = local["predictions"] == out["train_dask"]["predictions"]
        print(f"  train_dask predictions identical to train_local: {same}")
        if not same:
            sys.exit("the Dask cluster's predictions differ from the local pool's")
    peak = max(max(r["peak_rss_mb"], r.get("worker_peak_mb", 0.0)) for r in out.values())
    print(f"  peak RSS of any stage or worker: {peak:,.0f} MB (target < 8,192 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traders", type=int, default=5000)
    parser.add_argument("--days", type=int, default=252)
    parser.add_argument("--start", default="2025-01-02")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data-dir")
    parser.add_argument("--train-traders", type=int, default=0,
                        help="train_local/train_dask: only the first N trader partitions (0: all)")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK}, small budgets")
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        for k, v in QUICK.items():
            setattr(args, k, v)
    if args.stage:  # child process: one stage, its figures as JSON
        started = time.perf_counter()
        r = globals()[args.stage](args)
        print(json.dumps({**r, "seconds": time.perf_counter() - started,
                          "peak_rss_mb": _peak_mb()}))
        return
    tmp = None
    if not args.data_dir:
        tmp = tempfile.TemporaryDirectory(prefix="bench_scale_")
        args.data_dir = tmp.name
    print(f"bench.scale: {args.traders} traders x {args.days} sessions from {args.start}, "
          f"workers={args.workers}{' (quick budgets)' if args.quick else ''}"
          f"{f', training the first {args.train_traders} traders' if args.train_traders else ''}"
          f", data "
          f"{args.data_dir}; [load] = 1-min load average at the stage's start", flush=True)
    out = {}
    for stage in args.stages.split(","):
        out[stage] = _run_stage(args, stage)
        print(_stage_line(stage, out[stage]), flush=True)
    _report(args, out)
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
