"""Bench: fills -> trader-day panel -> features (and labels) on a simulated firm, and the DuckDB
daily fills aggregates against the pandas reference.

    .venv/bin/python -m bench.features                          # 500 traders x 3 years
    .venv/bin/python -m bench.features --compare-sessions 146   # pandas subset: first 146 sessions
    .venv/bin/python -m bench.features --profile                # + cProfile of each step

Targets (issue): fills -> panel -> features in <= 60 s with < 4 GB peak RSS at 500 traders x 3
years; daily fills aggregates >= 5x faster than pandas. The raw lake is built once under
``--data-dir`` (``bench.firm_lake``) and reused. Phase ``pipeline`` runs the real functions the
assets call: ``build_trader_day_panel`` over every date, then ``build_features`` and
``build_labels`` on that panel (computing only; the assets' Parquet writes are not timed).
Phase ``compare`` reads the first ``--compare-sessions`` sessions of fills and times
``fills_daily_aggregates`` (DuckDB, from the Parquet partitions, best of 3) against
``pandas_daily_aggregates`` (on the same fills in memory, once), asserting equal values. Each
phase runs in its own process, so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import time


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _timed(fn, *args, profile: bool = False, **kwargs):
    """(result, {wall_s, cpu_s, load, top}) — ``top``: the cProfile head when ``profile``."""
    prof = cProfile.Profile() if profile else None
    wall, cpu, load = time.perf_counter(), time.process_time(), _load()
    if prof:
        prof.enable()
    result = fn(*args, **kwargs)
    if prof:
        prof.disable()
    stats = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
             "load": load}
    if prof:
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(18)
        stats["top"] = buf.getvalue()
    return result, stats


def pipeline(args) -> dict:
    from pathlib import Path

    from bench.firm_lake import CALENDAR, lake_dates, read_marker
    from risk_dagster.core.lake import Lake
    from risk_dagster.features import build_features
    from risk_dagster.labels import build_labels
    from risk_dagster.panel import build_trader_day_panel

    raw = read_marker(Path(args.data_dir), "raw")
    dates = lake_dates(raw["start"], raw["end"])
    _warm_calendar(dates)
    panel, t_panel = _timed(build_trader_day_panel, Lake(args.data_dir), dates, calendar=CALENDAR,
                            profile=args.profile)
    rss_panel = _peak_rss_mb()
    features, t_feat = _timed(build_features, panel, profile=args.profile)
    rss_feat = _peak_rss_mb()
    labels, t_lab = _timed(build_labels, panel, profile=args.profile)
    return {"fills": raw["fills"], "dates": len(dates), "panel_rows": len(panel),
            "panel_cols": panel.shape[1], "features": features.shape[1] - 2,
            "labels": len(labels), "panel": t_panel, "features_t": t_feat, "labels_t": t_lab,
            "rss_after_panel_mb": rss_panel, "rss_after_features_mb": rss_feat,
            "peak_rss_mb": _peak_rss_mb()}


def _warm_calendar(days) -> None:
    """Load the exchange calendar outside the timings."""
    from bench.firm_lake import CALENDAR
    from risk_dagster.core.calendar import sessions

    sessions(CALENDAR, days[0], days[-1])


def compare(args) -> dict:
    from pathlib import Path

    import duckdb
    import pandas as pd

    from bench.firm_lake import CALENDAR, lake_dates, read_marker
    from bench.pandas_reference import pandas_daily_aggregates
    from risk_dagster.core.lake import Lake
    from risk_dagster.panel import fills_daily_aggregates

    raw = read_marker(Path(args.data_dir), "raw")
    days = lake_dates(raw["start"], raw["end"])[: args.compare_sessions]
    _warm_calendar(days)
    store = Lake(args.data_dir)
    files = [str(store.partition_path("raw_fills", "date", d.isoformat())) for d in days]
    con = duckdb.connect()
    con.read_parquet(files).create_view("fills")
    # best of 3 for DuckDB (the first run also warms the file cache); pandas runs once
    runs = [_timed(fills_daily_aggregates, con, "fills", calendar=CALENDAR) for _ in range(3)]
    fast, t_duck = min(runs, key=lambda run: run[1]["wall_s"])
    rss_duck = _peak_rss_mb()
    frame, t_read = _timed(lambda: con.sql("SELECT * FROM fills").to_arrow_table().to_pandas())
    slow, t_pandas = _timed(pandas_daily_aggregates, frame, calendar=CALENDAR,
                            profile=args.profile)
    pd.testing.assert_frame_equal(fast, slow, check_dtype=False, rtol=1e-9)
    return {"fills": len(frame), "sessions": len(days), "first": days[0].isoformat(),
            "last": days[-1].isoformat(), "trader_days": len(fast), "duckdb": t_duck,
            "read": t_read, "pandas": t_pandas, "rss_after_duckdb_mb": rss_duck,
            "peak_rss_mb": _peak_rss_mb()}


def _row(label: str, t: dict) -> str:
    return (f"  {label:44s} wall {t['wall_s']:7.2f} s  cpu {t['cpu_s']:7.2f} s  "
            f"({t['load']} at start)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="bench/out/bench500")
    parser.add_argument("--traders", type=int, default=500)
    parser.add_argument("--start", default="2023-01-03")
    parser.add_argument("--end", default="2025-12-31")
    parser.add_argument("--compare-sessions", type=int, default=146,
                        help="sessions of fills for the pandas comparison (146 = ~7 months)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--phase", choices=["pipeline", "compare"])
    args = parser.parse_args()
    if args.phase:  # child process: one phase, its figures as the last line of JSON
        print(json.dumps({"pipeline": pipeline, "compare": compare}[args.phase](args)))
        return
    from bench.firm_lake import ensure_raw

    raw = ensure_raw(args.data_dir, args.traders, args.start, args.end)
    print(f"lake {args.data_dir}: {raw['traders']} traders, {raw['start']}..{raw['end']}, "
          f"{raw['fills']:,} fills, {raw['dates']} sessions", flush=True)
    base = [sys.executable, "-m", "bench.features", "--data-dir", args.data_dir,
            "--compare-sessions", str(args.compare_sessions)]
    base += ["--profile"] if args.profile else []
    out = {}
    for phase in ("pipeline", "compare"):
        proc = subprocess.run(base + ["--phase", phase], check=False, capture_output=True,
                              text=True)
        if proc.returncode:
            sys.exit(f"{phase} failed:\n{proc.stderr[-3000:]}")
        out[phase] = json.loads(proc.stdout.strip().splitlines()[-1])
    p, c = out["pipeline"], out["compare"]
    total = p["panel"]["wall_s"] + p["features_t"]["wall_s"]
    print(f"pipeline (one process): {p['fills']:,} fills -> {p['panel_rows']:,} panel rows x "
          f"{p['panel_cols']} cols -> {p['features']} features, {p['labels']:,} label rows")
    print(_row("build_trader_day_panel (all dates)", p["panel"]))
    print(_row("build_features", p["features_t"]))
    print(_row("build_labels", p["labels_t"]))
    with_labels = total + p["labels_t"]["wall_s"]
    print(f"  fills -> panel -> features: {total:.1f} s (target <= 60 s: "
          f"{'met' if total <= 60 else 'MISSED'}); + labels {with_labels:.1f} s")
    print(f"  peak RSS {p['peak_rss_mb']:,.0f} MB (after panel {p['rss_after_panel_mb']:,.0f}, "
          f"after features {p['rss_after_features_mb']:,.0f}; target < 4096 MB: "
          f"{'met' if p['peak_rss_mb'] < 4096 else 'MISSED'})")
    ratio = c["pandas"]["wall_s"] / c["duckdb"]["wall_s"]
    print(f"daily fills aggregates on a subset: first {c['sessions']} sessions "
          f"({c['first']}..{c['last']}), {c['fills']:,} fills, {c['trader_days']:,} trader-days; "
          "values equal (rtol 1e-9)")
    print(_row("fills_daily_aggregates (DuckDB, from Parquet)", c["duckdb"]))
    print(_row("pandas_daily_aggregates (compute only)", c["pandas"]))
    print(_row("fills Parquet -> pandas (for the reference)", c["read"]))
    print(f"  speed-up vs pandas: wall {ratio:.1f}x, cpu "
          f"{c['pandas']['cpu_s'] / c['duckdb']['cpu_s']:.1f}x, with the pandas read "
          f"{(c['pandas']['wall_s'] + c['read']['wall_s']) / c['duckdb']['wall_s']:.1f}x "
          f"(target >= 5x: {'met' if ratio >= 5 else 'MISSED'}); compare peak RSS "
          f"{c['peak_rss_mb']:,.0f} MB")
    if args.profile:
        for name, t in (("build_trader_day_panel", p["panel"]), ("build_features", p["features_t"]),
                        ("build_labels", p["labels_t"]), ("pandas_daily_aggregates", c["pandas"])):
            print(f"--- profile of {name} (cumulative) ---\n{t['top']}")


if __name__ == "__main__":
    main()
