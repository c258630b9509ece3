"""Bench: generate a simulated firm and ingest it; prints fills/s for each and peak RSS.

    .venv/bin/python bench/ingest.py                      # 500 traders x 3 years
    .venv/bin/python bench/ingest.py --traders 40 --end 2024-12-31

Phase 1 (generate) runs the simulator chunk by chunk and lands its canonical fills and totals
in the landing zone (Parquet), as files from the back office would be. Phase 2 (ingest) is the
ingestion itself, the function the `raw_trades` asset calls: read the landing zone, validate
(every blocking check), complete the totals, write one partition per date. Phase 2b
(ingest_sim) is the same function fed the simulator's Arrow output, generated first and held
in memory, so that only the ingestion is timed. Phase 3 (dagster)
runs the real `ingest_job` over the whole range as one Dagster run: the same work plus Dagster's
bookkeeping, which records one materialization event per asset and date partition (SQLite
event log). Each phase runs in its own process so that its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(args) -> dict:
    from risk_dagster.ingest.inbox import land
    from risk_dagster.simulator import SimulationConfig, iter_simulation

    cfg = SimulationConfig(n_traders=args.traders, start=dt.date.fromisoformat(args.start),
                           end=dt.date.fromisoformat(args.end), seed=args.seed)
    fills = 0
    gen_s = land_s = 0.0
    t0 = time.perf_counter()
    for batch in iter_simulation(cfg, chunk_sessions=20):
        t1 = time.perf_counter()
        gen_s += t1 - t0
        fills += batch.fills.num_rows
        land(Path(args.data_dir), "fills", "simulator", "bench", batch.fills.to_pandas())
        land(Path(args.data_dir), "totals", "simulator", "bench", batch.totals.to_pandas())
        t0 = time.perf_counter()
        land_s += t0 - t1
    return {"fills": fills, "generate_s": gen_s, "land_s": land_s, "peak_rss_mb": _peak_rss_mb()}


def ingest(args) -> dict:
    from risk_dagster.core.calendar import sessions
    from risk_dagster.core.lake import Lake
    from risk_dagster.defs.resources import TradeSource
    from risk_dagster.ingest.raw_partitions import ingest_batches

    source = TradeSource(kind="landing", data_dir=args.data_dir)
    dates = [d.date() for d in sessions(source.calendar, dt.date.fromisoformat(args.start),
                                        dt.date.fromisoformat(args.end))]
    t0 = time.perf_counter()
    stats = ingest_batches(source.iter_batches(dates), Lake(Path(args.data_dir) / "core"), dates,
                           source.calendar, with_truth=False)
    return {"fills": stats.fills, "ingest_s": time.perf_counter() - t0, "partitions": len(dates),
            "peak_rss_mb": _peak_rss_mb()}


def ingest_simulated(args) -> dict:
    """The simulator's Arrow output, generated first and held in memory, then handed to the
    ingestion (as TradeSource kind simulator does chunk by chunk): the ingestion alone is timed,
    with nothing else running beside it."""
    from risk_dagster.core.calendar import sessions
    from risk_dagster.core.lake import Lake
    from risk_dagster.defs.resources import TradeSource
    from risk_dagster.ingest.raw_partitions import ingest_batches

    source = TradeSource(kind="simulator", data_dir=args.data_dir, sim_traders=args.traders,
                         sim_seed=args.seed, sim_start=args.start, sim_end=args.end)
    dates = [d.date() for d in sessions(source.calendar, dt.date.fromisoformat(args.start),
                                        dt.date.fromisoformat(args.end))]
    t0 = time.perf_counter()
    batches = list(source.iter_batches(dates))
    t1 = time.perf_counter()
    stats = ingest_batches(batches, Lake(Path(args.data_dir) / "sim"), dates, source.calendar,
                           with_truth=True)
    return {"fills": stats.fills, "ingest_s": time.perf_counter() - t1, "simulator_s": t1 - t0,
            "partitions": len(dates), "peak_rss_mb": _peak_rss_mb()}


def dagster_run(args) -> dict:
    os.environ["DAGSTER_HOME"] = str(Path(args.data_dir) / "dh")
    import dagster as dg

    from risk_dagster.core.settings import Settings
    from risk_dagster.defs.build import build_defs
    from risk_dagster.defs.partitions import build_date_partitions
    from risk_dagster.pipeline import prepare_dagster_home, run_job

    settings = Settings(data_dir=Path(args.data_dir).resolve(), source="landing",
                        start_date=dt.date.fromisoformat(args.start))
    prepare_dagster_home(settings)
    defs = build_defs(settings)
    keys = [k for k in build_date_partitions(settings).get_partition_keys()
            if args.start <= k <= args.end]
    t0 = time.perf_counter()
    stage = run_job(defs, dg.DagsterInstance.get(), "ingest_job", first=keys[0], last=keys[-1])
    seconds = time.perf_counter() - t0
    assert stage.success, "ingest_job failed"
    import duckdb

    fills = duckdb.sql("SELECT count(*) FROM read_parquet(?)",
                       params=[str(Path(args.data_dir) / "raw_fills" / "*" / "data.parquet")]).fetchall()[0][0]
    return {"fills": int(fills), "ingest_s": seconds, "partitions": len(keys),
            "peak_rss_mb": _peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--traders", type=int, default=500)
    parser.add_argument("--start", default="2023-01-03")
    parser.add_argument("--end", default="2025-12-31")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir")
    parser.add_argument("--phase", choices=["generate", "ingest", "ingest_sim", "dagster"])
    args = parser.parse_args()
    if args.phase:  # child process: run one phase, print its figures as JSON
        print(json.dumps({"generate": generate, "ingest": ingest, "ingest_sim": ingest_simulated,
                          "dagster": dagster_run}[args.phase](args)))
        return
    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        base = [sys.executable, __file__, "--traders", str(args.traders), "--start", args.start,
                "--end", args.end, "--seed", str(args.seed), "--data-dir", tmp]
        out = {}
        for phase in ("generate", "ingest", "ingest_sim", "dagster"):
            proc = subprocess.run(base + ["--phase", phase], capture_output=True, text=True)
            if proc.returncode:
                sys.exit(f"{phase} failed:\n{proc.stderr[-3000:]}")
            out[phase] = json.loads(proc.stdout.strip().splitlines()[-1])
    g, i, d, m = out["generate"], out["ingest"], out["dagster"], out["ingest_sim"]
    print(f"simulated firm: {args.traders} traders, {args.start}..{args.end}, {g['fills']:,} fills")
    print(f"generate: {g['generate_s']:.1f} s  {g['fills'] / g['generate_s']:,.0f} fills/s  "
          f"(+ {g['land_s']:.1f} s landing as Parquet)  peak RSS {g['peak_rss_mb']:,.0f} MB")
    print(f"ingest:   {i['ingest_s']:.1f} s  {i['fills'] / i['ingest_s']:,.0f} fills/s  "
          f"({i['partitions']} date partitions)  peak RSS {i['peak_rss_mb']:,.0f} MB")
    print(f"ingest from the simulator's Arrow output (in memory): {m['ingest_s']:.1f} s  "
          f"{m['fills'] / m['ingest_s']:,.0f} fills/s  (generated first in {m['simulator_s']:.1f} s; "
          f"also writes ground_truth)  peak RSS {m['peak_rss_mb']:,.0f} MB, incl. the held output")
    print(f"dagster:  {d['ingest_s']:.1f} s  {d['fills'] / d['ingest_s']:,.0f} fills/s  "
          f"(ingest_job, one run over {d['partitions']} partitions, incl. event bookkeeping)  "
          f"peak RSS {d['peak_rss_mb']:,.0f} MB")
    assert i["fills"] == g["fills"] == d["fills"] == m["fills"], "fills differ between phases"


if __name__ == "__main__":
    main()
