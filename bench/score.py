"""Bench: score one date for every trader as a Dagster run launched from the command line.

    .venv/bin/python -m bench.score                       # bench/out/bench500, its last date
    .venv/bin/python -m bench.score --champions keep      # use the champions already written

Target (issue): one date for 500 traders in <= 20 s wall with < 2 GB peak RSS. The run is a
fresh ``python -c`` process doing what the CLI does: set RISK_DATA_DIR / RISK_SOURCE /
RISK_START_DATE / DAGSTER_HOME, load ``risk_dagster.definitions`` and call
``risk_dagster.pipeline.run_job(defs, instance, "score_date_job", first=D, last=D)``; its wall
time includes the Python and Dagster imports. Peak RSS is that process's (``RUSAGE_CHILDREN``
of this bench after it ends; the bench starts no other child).

Needs the lake with features (``bench.firm_lake``) and a trained pooled model
(``bench.train`` trains one into ``<data>/models``). ``--champions pooled`` (default) writes a
champion pointing at the latest pooled model for every trader with features (what
``model_evaluation`` picks for traders without out-of-sample rows); ``keep`` leaves the
champions as they are (e.g. written by the ``model_evaluation`` asset).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

_RUN = """
import json, sys, time
t0 = time.perf_counter()
import dagster as dg
from risk_dagster.core.settings import load_settings
from risk_dagster.pipeline import prepare_dagster_home, run_job
prepare_dagster_home(load_settings())
from risk_dagster.definitions import defs
t1 = time.perf_counter()
day = sys.argv[1]
stage = run_job(defs, dg.DagsterInstance.get(), "score_date_job", first=day, last=day)
print("BENCH_RESULT", json.dumps({
    "import_s": t1 - t0, "run_s": stage.seconds, "success": stage.success,
    "materializations": stage.materializations, "failed_checks": stage.failed_checks,
    "run_id": stage.run_id}))
sys.exit(0 if stage.success else 1)
"""


def write_pooled_champions(data_dir: Path, day: str) -> tuple[int, str]:
    """A champion -> the latest pooled model for every trader with features on ``day``."""
    from risk_dagster.core.lake import Lake
    from risk_dagster.evaluation.champions import latest_model, write_champion
    from risk_dagster.models.config import POOLED
    from risk_dagster.models.fleet import MODELS_DIR

    root = data_dir / MODELS_DIR
    path = latest_model(root, POOLED, "pooled_lgbm")  # relative to the data directory
    if path is None:
        raise SystemExit(f"no pooled model under {root}: run bench.train on {data_dir} first")
    con = Lake(data_dir).connect(["trader_features"])
    traders = [r[0] for r in con.execute(
        "SELECT DISTINCT trader_id FROM trader_features WHERE trade_date = ?", [day]).fetchall()]
    for tid in traders:
        write_champion(root, tid, {"family": "pooled_lgbm", "chosen": "pooled_lgbm", "path": path,
                                   "reason": "bench.score: pooled model for every trader"})
    return len(traders), path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="bench/out/bench500")
    parser.add_argument("--date", help="date to score (default: the lake's last)")
    parser.add_argument("--champions", choices=["pooled", "keep"], default="pooled")
    args = parser.parse_args()
    data_dir = Path(args.data_dir).resolve()
    raw = json.loads((data_dir / ".bench_raw.json").read_text())
    if not (data_dir / ".bench_features.json").exists():
        sys.exit(f"{data_dir} has no features yet: python -m bench.firm_lake --data-dir {data_dir}")
    day = args.date or raw["end"]
    if args.champions == "pooled":
        n, path = write_pooled_champions(data_dir, day)
        print(f"champions: {n} traders -> {path}")
    env = {**os.environ, "RISK_DATA_DIR": str(data_dir), "RISK_SOURCE": "landing",
           "RISK_START_DATE": raw["start"], "RISK_CALENDAR": "XNYS",
           "DAGSTER_HOME": str(data_dir / "dagster_home")}
    cmd = [sys.executable, "-c", _RUN, day]
    load = "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=str(Path(__file__).resolve().parents[1]))
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    # this bench starts no other child, so the children's peak is the run's peak
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    # DuckDB's progress bar shares stdout (carriage returns, no newline): find the marker
    found = re.findall(r"BENCH_RESULT (\{.*\})", out)
    if not found:
        sys.exit(f"score run failed after {wall:.1f} s (exit {proc.returncode}):\n"
                 f"{out[-3000:]}\n{err[-5000:]}")
    r = json.loads(found[-1])
    print(f"lake {data_dir}: {raw['traders']} traders; score_date_job for {day} "
          f"({'ok' if r['success'] else 'FAILED'}, run {r['run_id'][:8]}, "
          f"{r['materializations']} materializations, failed checks {r['failed_checks']})")
    print(f"  subprocess wall {wall:.1f} s = imports + definitions {r['import_s']:.1f} s + "
          f"run {r['run_s']:.1f} s (+ interpreter start/exit)  [{load} at start]")
    print(f"  subprocess peak RSS {rss:,.0f} MB (RUSAGE_CHILDREN)")
    print(f"  targets: <= 20 s wall {'met' if wall <= 20 else 'MISSED'}, < 2048 MB "
          f"{'met' if rss < 2048 else 'MISSED'}")
    print(f"  command: RISK_DATA_DIR={data_dir} RISK_SOURCE=landing RISK_START_DATE={raw['start']} "
          f"DAGSTER_HOME={data_dir / 'dagster_home'} {sys.executable} -c <bench.score._RUN> {day}")


if __name__ == "__main__":
    main()
