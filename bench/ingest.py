"""Bench: generate a simulated firm and ingest it; prints fills/s for each and peak RSS.

    .venv/bin/python -m bench.ingest                      # 500 traders x 3 years
    .venv/bin/python -m bench.ingest --traders 40 --end 2024-12-31
    .venv/bin/python -m bench.ingest --propreports-rows 2000000   # one PropReports fills CSV
    .venv/bin/python -m bench.ingest --propreports-rows 200000 --compare  # and the whole-file reader

The ``--propreports-rows`` case writes one PropReports fills export of that many rows (26
columns, as the back office exports it: 500 accounts over the sessions of 2024) and times
``process_inbox_file`` on it, the work of ``risk-dagster ingest`` and of the inbox sensor:
read, convert, check, merge with the landing zone, land one file per date. The file streams in
blocks (``ingest/stream.py``); ``--compare`` also lands it through the whole-file reader (the
fallback for unusual files and errors) in the same process and checks both landed the same
rows. Target: >= 500k rows/s and peak RSS < 1 GB for 2,000,000 rows.

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


def write_propreports_csv(args) -> dict:
    """A PropReports fills export of ``args.propreports_rows`` rows (sorted by date)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from risk_dagster.core.calendar import sessions

    n = args.propreports_rows
    rng = np.random.default_rng(args.seed)
    days = sessions("XNYS", dt.date(2024, 1, 2), dt.date(2024, 12, 31))
    day = np.sort(rng.integers(0, len(days), n))
    secs = rng.integers(9 * 3600 + 1800, 16 * 3600, n)
    local = (np.asarray(days, dtype="datetime64[s]")[day] + secs.astype("timedelta64[s]"))
    stamp = pa.compute.strftime(pa.array(local, pa.timestamp("s")), format="%m/%d/%Y %H:%M:%S")
    accounts = np.array([f"T{i:04d}" for i in range(1, 501)])
    acct = accounts[rng.integers(0, 500, n)]
    qty = rng.integers(1, 50, n) * 100
    price = np.round(rng.uniform(5, 500, n), 4)
    ids = np.arange(1, n + 1)
    zeros = np.zeros(n)
    table = pa.table({
        "Date/Time": stamp, "Account": acct, "B/S": np.array(["B", "S", "T"])[ids % 3],
        "Qty": qty, "Symbol": np.array([f"S{i:03d}" for i in range(200)])[ids % 200],
        "Price": price, "Route": np.array(["ARCA", "NSDQ", "IEX"])[ids % 3],
        "Liq": np.array(["A", "R"])[ids % 2], "Comm": np.round(qty * 0.0035, 4),
        "Ecn Fee": np.round(qty * -0.002, 4), "SEC": zeros, "ORF": zeros, "CAT": zeros,
        "TAF": zeros, "FTT": zeros, "NSCC": zeros, "Acc": zeros, "Clr": np.round(qty * 2e-4, 4),
        "Misc": zeros, "Order Id": pa.compute.cast(pa.array(ids // 3), pa.string()),
        "Fill Id": pa.compute.cast(pa.array(ids), pa.string()),
        "Currency": np.full(n, "USD"), "ISIN": np.full(n, ""), "CUSIP": np.full(n, ""),
        "Status": np.full(n, ""), "PropReports Id": ids,
    })
    path = Path(args.data_dir) / "fills_propreports.csv"
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="none"))
    return {"rows": n, "bytes": path.stat().st_size, "peak_rss_mb": _peak_rss_mb()}


def land_propreports_csv(args) -> dict:
    """Land the file with ``process_inbox_file`` (streamed in blocks); with ``--compare`` also
    through the whole-file reader (the fallback for unusual files and errors), in this process,
    on a copy of the same file, and check that both landed the same rows."""
    import duckdb

    from risk_dagster.ingest.dispatch import parse_file
    from risk_dagster.ingest.inbox import process_inbox_file

    src = Path(args.data_dir) / "fills_propreports.csv"
    out = {}
    for label, parse in [("stream", None)] + ([("whole", parse_file)] if args.compare else []):
        data = Path(args.data_dir) / f"data-{label}"
        dropped = data / "inbox" / "propreports" / src.name
        dropped.parent.mkdir(parents=True, exist_ok=True)
        os.link(src, dropped)
        t0 = time.perf_counter()
        result = process_inbox_file(dropped, "propreports", data, calendar="XNYS",
                                    first_date=dt.date(2024, 1, 2), parse=parse)
        seconds = time.perf_counter() - t0
        assert result.status == "landed", result.error
        out[label] = {"rows": result.rows, "land_s": seconds, "dates": len(result.dates),
                      "peak_rss_mb": _peak_rss_mb()}
    if args.compare:
        cols = "* EXCLUDE (landed_at)"
        a, b = (str(Path(args.data_dir) / f"data-{x}" / "landing" / "fills" / "*" / "*.parquet")
                for x in ("stream", "whole"))
        differ = duckdb.sql(f"SELECT count(*) FROM (SELECT {cols} FROM read_parquet($a) "
                            f"EXCEPT ALL SELECT {cols} FROM read_parquet($b))",
                            params={"a": a, "b": b}).fetchall()[0][0]
        assert differ == 0, f"{differ} rows differ between the two readers"
        out["same_rows"] = True
    return out


def propreports_file_case(args) -> None:
    with tempfile.TemporaryDirectory(prefix="bench_ingest_pr_") as tmp:
        base = [sys.executable, __file__, "--propreports-rows", str(args.propreports_rows),
                "--seed", str(args.seed), "--data-dir", tmp] + (["--compare"] if args.compare
                                                                 else [])
        out = {}
        for phase in ("write_csv", "land_csv"):
            proc = subprocess.run(base + ["--phase", phase], capture_output=True, text=True)
            if proc.returncode:
                sys.exit(f"{phase} failed:\n{proc.stderr[-3000:]}")
            out[phase] = json.loads(proc.stdout.strip().splitlines()[-1])
    w, runs = out["write_csv"], out["land_csv"]
    print(f"PropReports fills CSV: {w['rows']:,} rows, {w['bytes'] / 1e6:,.0f} MB")
    g = runs["stream"]
    print(f"land, streamed in blocks (parse, check, merge, land {g['dates']} dates): "
          f"{g['land_s']:.1f} s  {g['rows'] / g['land_s']:,.0f} rows/s  "
          f"peak RSS {g['peak_rss_mb']:,.0f} MB")
    if "whole" in runs:
        h = runs["whole"]
        print(f"land, whole-file reader (same process, after it): {h['land_s']:.1f} s  "
              f"{h['rows'] / h['land_s']:,.0f} rows/s  peak RSS {h['peak_rss_mb']:,.0f} MB "
              "(the process's peak so far)")
        print(f"streamed / whole-file speed: {h['land_s'] / g['land_s']:.2f}x; both landed the "
              "same rows")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--traders", type=int, default=500)
    parser.add_argument("--start", default="2023-01-03")
    parser.add_argument("--end", default="2025-12-31")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir")
    parser.add_argument("--propreports-rows", type=int,
                        help="instead: time landing one PropReports fills CSV of this many rows")
    parser.add_argument("--compare", action="store_true",
                        help="with --propreports-rows: also time the whole-file reader")
    parser.add_argument("--phase", choices=["generate", "ingest", "ingest_sim", "dagster",
                                            "write_csv", "land_csv"])
    args = parser.parse_args()
    if args.phase:  # child process: run one phase, print its figures as JSON
        print(json.dumps({"generate": generate, "ingest": ingest, "ingest_sim": ingest_simulated,
                          "dagster": dagster_run, "write_csv": write_propreports_csv,
                          "land_csv": land_propreports_csv}[args.phase](args)))
        return
    if args.propreports_rows:
        propreports_file_case(args)
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
