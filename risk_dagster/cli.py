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
                        help="'propreports', a column-mapping preset name (e.g. hyperliquid) or "
                        "the path of your own mapping YAML")
    ingest.add_argument("--calendar",
                        help=f"{Settings.calendar} (default) or 24/7 for crypto venues")
    ingest.add_argument("--ingest-only", action="store_true",
                        help="stop after ingestion (default: run the whole pipeline on them)")
    ingest.add_argument("--account", metavar="ID",
                        help="the trader of exports that carry no account")
    ingest.add_argument("--replace", action="store_true",
                        help="the files replace the trader-days they hold (a corrected re-export)")
    ingest.add_argument("--contracts", type=Path, metavar="PATH",
                        help="the firm's futures contracts YAML (RISK_CONTRACTS): adds roots to "
                        "or overrides the shipped CME table; a mapping's own contracts: wins")
    ingest.add_argument("--skip-bad-rows", type=int, default=0, metavar="N",
                        help="land the good rows of a file with up to N bad rows (kept in "
                        "rejected/); default 0: a bad row rejects the file")
    ingest.add_argument("--quiet", action="store_true", help="no progress, only the outcome")
    sim = sub.add_parser("simulate", help="write simulated PropReports exports")
    sim.add_argument("--out", type=Path, required=True)
    sim.add_argument("--traders", type=int, default=10)
    sim.add_argument("--start", default="2024-01-02")
    sim.add_argument("--end", default="2024-01-31")
    replay = sub.add_parser("replay", help="replay the firm morning by morning (schedules, "
                            "drift sensor, retraining) and report what following it would have done")
    replay.add_argument("--from", dest="first", required=True,
                        help="first replayed session, YYYY-MM-DD")
    replay.add_argument("--to", dest="last", required=True, help="last replayed session")
    replay.add_argument("--traders", type=int, help="simulated traders (default 40)")
    replay.add_argument("--start", help="history from this date, YYYY-MM-DD (default 2024-01-02)")
    replay.add_argument("--changes", help="changes injected into the simulated firm, e.g. "
                        "2025-06-02:trader_behaviour:T0003+T0007")
    replay.add_argument("--landed", action="store_true",
                        help="replay the exports landed in the data directory instead of the "
                        "simulated firm")
    replay.add_argument("--quiet", action="store_true", help="no progress, only the outcome")
    return parser


def _settings(args, **overrides) -> Settings:
    """The environment's settings (``RISK_*``), with what the command line sets on top."""
    values = {k: v for k, v in overrides.items() if v is not None}
    if args.data_dir:
        values["data_dir"] = Path(args.data_dir).expanduser().resolve()
    return dataclasses.replace(load_settings(), **values)


def _load(settings: Settings):
    """The definitions built from ``settings`` and the Dagster instance of its profile, created
    once under a lock (two commands started together on a fresh data directory)."""
    from risk_dagster.defs.build import build_defs
    from risk_dagster.instance import open_instance

    instance = open_instance(settings)
    return build_defs(settings), instance


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

    settings = _settings(args, source="landing", calendar=args.calendar,
                         contracts_file=args.contracts and args.contracts.expanduser().resolve())
    defs, instance = _load(settings)
    with ProgressDisplay(quiet=args.quiet) as display:
        return ingest_files(settings, defs, instance, args.files, args.source,
                            pipeline=not args.ingest_only, account=args.account,
                            replace=args.replace, skip_bad_rows=args.skip_bad_rows,
                            display=display)


def cmd_replay(args) -> int:
    from risk_dagster.core.calendar import previous_session
    from risk_dagster.replay_runner import run_replay

    first, last = dt.date.fromisoformat(args.first), dt.date.fromisoformat(args.last)
    start = dt.date.fromisoformat(args.start) if args.start else None
    if args.landed:
        settings = _settings(args, source="landing", start_date=start)
    else:
        changes = tuple(c for c in (args.changes or "").split(",") if c) or None
        settings = _settings(args, source="simulator", sim_traders=args.traders,
                             start_date=start, sim_end_date=last, sim_changes=changes)
    # scores from the close before --from: that morning advises --from
    settings = dataclasses.replace(settings, scoring_start_date=previous_session(
        settings.calendar, first))
    from risk_dagster.reporting.progress import ProgressDisplay

    defs, instance = _load(settings)
    with ProgressDisplay(quiet=args.quiet) as display:
        return run_replay(settings, defs, instance, first, last, display=display)


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
               "simulate": cmd_simulate, "replay": cmd_replay, "reports": cmd_reports}[args.command]
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
