"""The `risk-dagster` command.

    risk-dagster demo        run the pipeline end to end on the simulated firm
    risk-dagster dev         open the Dagster UI (bound to 127.0.0.1 unless --host is given)
    risk-dagster ingest F…   ingest export files and run the pipeline on them (no UI needed)
    risk-dagster simulate    write the simulated firm's PropReports-format CSV exports
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import warnings
from pathlib import Path

from risk_dagster.core.settings import load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="risk-dagster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="data directory (default: $RISK_DATA_DIR or ./data)")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the pipeline on the simulated firm")
    demo.add_argument("--traders", type=int, help="simulated traders (default 40)")
    demo.add_argument("--start", help="first date, YYYY-MM-DD (default 2024-01-02)")
    demo.add_argument("--end", help="last date, YYYY-MM-DD (default 2025-12-31)")
    dev = sub.add_parser("dev", help="start the Dagster UI")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", default="3000")
    ingest = sub.add_parser("ingest", help="ingest export files now")
    ingest.add_argument("files", nargs="+", type=Path)
    ingest.add_argument("--source", required=True,
                        help="'propreports' or a column-mapping preset name (e.g. hyperliquid)")
    ingest.add_argument("--calendar", help="XNYS (default) or 24/7 for crypto venues")
    ingest.add_argument("--ingest-only", action="store_true",
                        help="stop after ingestion (default: run the whole pipeline on them)")
    sim = sub.add_parser("simulate", help="write simulated PropReports exports")
    sim.add_argument("--out", type=Path, required=True)
    sim.add_argument("--traders", type=int, default=10)
    sim.add_argument("--start", default="2024-01-02")
    sim.add_argument("--end", default="2024-01-31")
    return parser


def _set_env(**values) -> None:
    for key, value in values.items():
        if value is not None:
            os.environ[key] = str(value)


def _load():
    """Import the definitions after the environment is final (partitions read it at import)."""
    import dagster as dg

    from risk_dagster.definitions import defs
    from risk_dagster.pipeline import prepare_dagster_home

    settings = load_settings()
    prepare_dagster_home(settings)
    return settings, defs, dg.DagsterInstance.get()


def cmd_demo(args) -> int:
    _set_env(RISK_SOURCE="simulator", RISK_SIM_TRADERS=args.traders, RISK_START_DATE=args.start,
             RISK_SIM_END_DATE=args.end)
    from risk_dagster.pipeline import run_demo

    settings, defs, instance = _load()
    return run_demo(settings, defs, instance)


def cmd_dev(args) -> int:
    settings, _, _ = _load()
    cmd = [sys.executable, "-m", "dagster", "dev", "-m", "risk_dagster.definitions",
           "-h", args.host, "-p", str(args.port)]
    print(f"DAGSTER_HOME={os.environ['DAGSTER_HOME']}\n$ {' '.join(cmd)}", flush=True)
    return subprocess.call(cmd)


def cmd_ingest(args) -> int:
    _set_env(RISK_SOURCE="landing", RISK_CALENDAR=args.calendar)
    from risk_dagster.pipeline import ingest_files

    settings, defs, instance = _load()
    return ingest_files(settings, defs, instance, args.files, args.source,
                        pipeline=not args.ingest_only)


def cmd_simulate(args) -> int:
    from risk_dagster.simulator import SimulationConfig, simulate, write_propreports_exports

    settings = load_settings()
    cfg = SimulationConfig(n_traders=args.traders, start=dt.date.fromisoformat(args.start),
                           end=dt.date.fromisoformat(args.end), seed=settings.sim_seed,
                           calendar=settings.calendar)
    for path in write_propreports_exports(simulate(cfg), args.out):
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("DO_NOT_TRACK", "1")  # Evidently telemetry
    warnings.filterwarnings("ignore", message=".*(beta|preview).*", category=Warning)
    _set_env(RISK_DATA_DIR=args.data_dir)
    handler = {"demo": cmd_demo, "dev": cmd_dev, "ingest": cmd_ingest,
               "simulate": cmd_simulate}[args.command]
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
