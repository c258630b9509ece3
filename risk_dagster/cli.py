"""The `risk-dagster` command.

    risk-dagster demo        run the pipeline end to end on the simulated firm
    risk-dagster dev         open the Dagster UI and the report server (bound to 127.0.0.1
                             unless --host is given); Ctrl-C stops everything it started
    risk-dagster reports     serve the data directory's reports/ and live/ read-only
    risk-dagster ingest F…   ingest export files and run the pipeline on them (no UI needed)
    risk-dagster simulate    write the simulated firm's PropReports-format CSV exports
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import sys
import warnings
from pathlib import Path

from risk_dagster.core.settings import Settings, load_settings, to_environ


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="risk-dagster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="data directory (default: $RISK_DATA_DIR or ./data)")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the pipeline on the simulated firm")
    demo.add_argument("--traders", type=int,
                      help=f"simulated traders (default {Settings.sim_traders})")
    demo.add_argument("--start", type=dt.date.fromisoformat,
                      help=f"first date, YYYY-MM-DD (default {Settings.start_date})")
    demo.add_argument("--end", type=dt.date.fromisoformat,
                      help=f"last date, YYYY-MM-DD (default {Settings.sim_end_date})")
    demo.add_argument("--quiet", action="store_true", help="no progress, only the outcome")
    dev = sub.add_parser("dev", help="start the Dagster UI and the report server")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", default="3000")
    dev.add_argument("--reports-port", type=int,
                     help="report server port (default: the port of $RISK_REPORTS_URL, 3001)")
    dev.add_argument("--no-reports", action="store_true", help="do not start the report server")
    reports = sub.add_parser("reports", help="serve the reports read-only over HTTP")
    reports.add_argument("--host", default="127.0.0.1")
    reports.add_argument("--port", type=int,
                         help="default: the port of $RISK_REPORTS_URL (3001)")
    ingest = sub.add_parser("ingest", help="ingest export files now")
    ingest.add_argument("files", nargs="+", type=Path)
    ingest.add_argument("--source", required=True,
                        help="'propreports' or a column-mapping preset name (e.g. hyperliquid)")
    ingest.add_argument("--calendar",
                        help=f"{Settings.calendar} (default) or 24/7 for crypto venues")
    ingest.add_argument("--ingest-only", action="store_true",
                        help="stop after ingestion (default: run the whole pipeline on them)")
    ingest.add_argument("--quiet", action="store_true", help="no progress, only the outcome")
    sim = sub.add_parser("simulate", help="write simulated PropReports exports")
    sim.add_argument("--out", type=Path, required=True)
    sim.add_argument("--traders", type=int, default=10)
    sim.add_argument("--start", default="2024-01-02")
    sim.add_argument("--end", default="2024-01-31")
    return parser


def _settings(args, **overrides) -> Settings:
    """The environment's settings (``RISK_*``), with what the command line sets on top."""
    values = {k: v for k, v in overrides.items() if v is not None}
    if args.data_dir:
        values["data_dir"] = Path(args.data_dir).expanduser().resolve()
    return dataclasses.replace(load_settings(), **values)


def _load(settings: Settings):
    """The definitions built from ``settings`` and the Dagster instance under the data dir."""
    import dagster as dg

    from risk_dagster.defs.build import build_defs
    from risk_dagster.pipeline import prepare_dagster_home

    prepare_dagster_home(settings)
    return build_defs(settings), dg.DagsterInstance.get()


def cmd_demo(args) -> int:
    from risk_dagster.pipeline import run_demo

    from risk_dagster.reporting.progress import ProgressDisplay

    settings = _settings(args, source="simulator", sim_traders=args.traders,
                         start_date=args.start, sim_end_date=args.end)
    defs, instance = _load(settings)
    with ProgressDisplay(quiet=args.quiet) as display:
        return run_demo(settings, defs, instance, display)


def _reports_port(settings: Settings, port: int | None) -> int:
    from urllib.parse import urlsplit

    from risk_dagster.core.settings import DEFAULT_REPORTS_PORT

    return port if port is not None else urlsplit(settings.reports_url).port or DEFAULT_REPORTS_PORT


def cmd_dev(args) -> int:
    from risk_dagster.pipeline import prepare_dagster_home
    from risk_dagster.process_group import run_process_group
    from risk_dagster.reporting.server import serve_in_thread

    settings = _settings(args)
    home = prepare_dagster_home(settings)
    server = None
    if not args.no_reports:
        server, _ = serve_in_thread(settings.data_dir, args.host,
                                    _reports_port(settings, args.reports_port))
        host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
        url = f"http://{host}:{server.server_address[1]}"
        if "RISK_REPORTS_URL" not in os.environ:  # the UI's runs link reports to this server
            settings = dataclasses.replace(settings, reports_url=url)
        print(f"Reports: {url}/ (serving {settings.data_dir / 'reports'} and "
              f"{settings.data_dir / 'live'} read-only)")
    cmd = [sys.executable, "-m", "dagster", "dev", "-m", "risk_dagster.definitions",
           "-h", args.host, "-p", str(args.port)]
    print(f"DAGSTER_HOME={home}\n$ {' '.join(cmd)}", flush=True)
    try:
        # the UI's code server loads the definitions from its environment: hand it these
        # settings; Ctrl-C / SIGTERM stop the whole dagster dev tree
        return run_process_group(cmd, env={**os.environ, **to_environ(settings)})
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()


def cmd_reports(args) -> int:
    from risk_dagster.reporting.server import make_server

    settings = _settings(args)
    server = make_server(settings.data_dir, args.host, _reports_port(settings, args.port))
    host, port = server.server_address[:2]
    print(f"Serving {settings.data_dir / 'reports'} and {settings.data_dir / 'live'} read-only "
          f"at http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def cmd_ingest(args) -> int:
    from risk_dagster.pipeline import ingest_files

    from risk_dagster.reporting.progress import ProgressDisplay

    settings = _settings(args, source="landing", calendar=args.calendar)
    defs, instance = _load(settings)
    with ProgressDisplay(quiet=args.quiet) as display:
        return ingest_files(settings, defs, instance, args.files, args.source,
                            pipeline=not args.ingest_only, display=display)


def cmd_simulate(args) -> int:
    from risk_dagster.simulator import SimulationConfig, simulate, write_propreports_exports

    settings = _settings(args)
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
    handler = {"demo": cmd_demo, "dev": cmd_dev, "ingest": cmd_ingest,
               "simulate": cmd_simulate, "reports": cmd_reports}[args.command]
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
