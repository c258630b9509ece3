"""Bench: every sensor and schedule tick, and the trader_models page's GraphQL, at 5,000 traders.

    .venv/bin/python -m bench.ticks                          # 5,000 traders, 252 dates, UI query
    .venv/bin/python -m bench.ticks --traders 500 --no-ui

Builds, in a temporary data directory and a fresh local instance (SQLite; the production profile
stores the same rows in PostgreSQL):
- the ``trader`` partitions, added by ``trader_registry`` from a raw_fills table of ``--traders``
  traders (one ``add_dynamic_partitions`` call; its time is printed),
- ``--dates`` drift_report partitions, the last one with one row per trader and every trader
  flagged for retraining (the worst case: a market-wide change),
- a landing zone with a fills and a totals file per date and ``--inbox`` files waiting in the
  inbox, and a trader_models materialization per trader (what the UI's partition bar shows).
Then evaluates each tick as the daemon does (``evaluate_tick`` on a ``build_*_context``) and
prints one line per tick: seconds and run requests. Dagster gives up on a tick after 60 s.
With the UI (default), starts ``dagster-webserver`` on the same instance and times the GraphQL
queries of the trader_models page (PartitionHealthQuery, as the UI sends it, and the partition
counts), each three times, printing the slowest; then loads the page itself in headless
Chromium (Selenium; ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` unless
``RISK_CHROMIUM`` / ``RISK_CHROMEDRIVER`` say otherwise): seconds from ``driver.get`` of
``/assets/trader_models?view=partitions`` until the page shows ``Materialized (5,000)``, three
loads (the first with a cold browser cache), printing each. Target: < 5 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

warnings.filterwarnings("ignore")  # Dagster's beta warnings at import
import dagster as dg  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2025, 6, 3, 7, 30)  # a Tuesday 07:30 New York: the morning schedules run

PARTITION_HEALTH_QUERY = """
query PartitionHealthQuery($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode {
      id
      partitionKeysByDimension { name type partitionKeys }
      assetPartitionStatuses {
        ... on TimePartitionStatuses { ranges { status startTime endTime startKey endKey } }
        ... on DefaultPartitionStatuses {
          materializedPartitions materializingPartitions failedPartitions
        }
      }
    }
  }
}"""
PARTITION_STATS_QUERY = """
query TraderModelsStats($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode {
      id
      partitionStats { numMaterialized numMaterializing numFailed numPartitions }
    }
  }
  assetOrError(assetKey: $assetKey) {
    ... on Asset { assetMaterializations(limit: 1) { partition timestamp runId } }
  }
}"""


def trader_ids(n: int) -> list[str]:
    return [f"T{i:05d}" for i in range(1, n + 1)]


def session_dates(n: int, last: dt.date) -> list[dt.date]:
    return [d.date() for d in pd.bdate_range(end=last, periods=n)]


def build_state(root: Path, instance, traders: list[str], dates: list[dt.date],
                inbox_files: int = 3, materializations: bool = True) -> dict:
    """The lake and instance state described in the module docstring; returns timings (s) and
    the add_dynamic_partitions calls made by trader_registry."""
    from risk_dagster.core.lake import Lake
    from risk_dagster.defs.assets.ingest import trader_registry
    from risk_dagster.defs.resources import LakeResource
    from risk_dagster.ingest.inbox import INBOX, LANDING
    from risk_dagster.monitoring.retrain import run_key
    from risk_dagster.defs.partitions import RANGE_END_TAG, RANGE_START_TAG

    lake = Lake(root)
    last = dates[-1]
    lake.write("raw_fills", "date", last.isoformat(), pd.DataFrame({
        "trade_date": [last] * len(traders), "trader_id": traders,
        "fill_id": [f"{t}-1" for t in traders]}))

    calls: list[int] = []
    add = type(instance).add_dynamic_partitions

    def counting_add(self, partitions_def_name, partition_keys):
        calls.append(len(partition_keys))
        return add(self, partitions_def_name, partition_keys)

    type(instance).add_dynamic_partitions = counting_add
    try:
        started, cpu = time.perf_counter(), time.process_time()
        result = dg.materialize([trader_registry], instance=instance,
                                resources={"lake": LakeResource(data_dir=str(root))})
        registry_s, registry_cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        type(instance).add_dynamic_partitions = add
    assert result.success

    for day in dates[:-1]:
        lake.write("drift_report", "date", day.isoformat(), pd.DataFrame({
            "trade_date": [day], "trader_id": [traders[0]], "retrain": [False],
            "retrain_reason": [None], "retrain_detail": [None], "run_key": [None]}))
    lake.write("drift_report", "date", last.isoformat(), pd.DataFrame({
        "trade_date": [last] * len(traders), "trader_id": traders, "status": "ok",
        "retrain": True, "retrain_reason": "drift",
        "retrain_detail": "KS on 4 of 30 features (BH at 0.0005); shift test p=0.0001",
        "run_key": [run_key(t, last, "drift") for t in traders]}))

    stub = pd.DataFrame({"trade_date": [dates[0]], "trader_id": [traders[0]]})
    for day in dates:
        for table in ("fills", "totals"):
            path = root / LANDING / table / f"date={day.isoformat()}" / "propreports-0.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            stub.to_parquet(path)
    for i in range(inbox_files):
        path = root / INBOX / "propreports" / f"fills_{i}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("Date/Time,Account\n")

    started = time.perf_counter()
    if materializations:  # what weekly_training_job leaves: one run, one event per trader
        result = dg.materialize([_trader_models_stub()], instance=instance, tags={
            RANGE_START_TAG: traders[0], RANGE_END_TAG: traders[-1]})
        assert result.success
    return {"registry_s": registry_s, "registry_cpu": registry_cpu, "add_calls": calls,
            "materializations_s": time.perf_counter() - started}


def _trader_models_stub():
    """An asset with trader_models' key and partitions that only records materializations."""
    from risk_dagster.defs.partitions import single_run, trader_partitions

    @dg.asset(name="trader_models", group_name="models", partitions_def=trader_partitions,
              backfill_policy=single_run)
    def stub(context):
        return dg.MaterializeResult(metadata={"traders": len(context.partition_keys)})

    return stub


def bench_definitions(root: Path):
    """The code location's definitions (sensors, schedules, resources) on the lake at ``root``,
    reading landed files (``RISK_SOURCE=landing``)."""
    from risk_dagster.core.settings import load_settings
    from risk_dagster.defs.build import build_defs

    return build_defs(load_settings({**os.environ, "RISK_DATA_DIR": str(root),
                                     "RISK_SOURCE": "landing"}))


def time_ticks(instance, definitions,
               now: dt.datetime = NOW) -> list[tuple[str, float, float, int]]:
    """(tick, wall s, CPU s, run requests) for every sensor and schedule, evaluated as the code
    server does for the daemon; the sensors twice (first tick without a cursor, then with the
    cursor it returned). CPU is this process's (a busy machine stretches the wall time)."""
    from zoneinfo import ZoneInfo

    out = []
    when = now.replace(tzinfo=ZoneInfo("America/New_York"))
    for schedule in definitions.schedules:
        ctx = dg.build_schedule_context(instance_ref=instance.get_ref(),
                                        scheduled_execution_time=when,
                                        repository_def=definitions.get_repository_def())
        started, cpu = time.perf_counter(), time.process_time()
        data = schedule.evaluate_tick(ctx)
        out.append((schedule.name, time.perf_counter() - started, time.process_time() - cpu,
                    len(data.run_requests or [])))
    for sensor in definitions.sensors:
        cursor = None
        for tick in ("first", "next"):
            # instance_ref, as the code server passes it (it caches the partition look-ups).
            with dg.build_sensor_context(instance_ref=instance.get_ref(), cursor=cursor,
                                         definitions=definitions,
                                         resources=definitions.resources) as ctx:
                started, cpu = time.perf_counter(), time.process_time()
                data = sensor.evaluate_tick(ctx)
            out.append((f"{sensor.name} ({tick} tick)", time.perf_counter() - started,
                        time.process_time() - cpu, len(data.run_requests or [])))
            cursor = data.cursor
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CHROME_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--window-size=1400,1000"]


def time_page_loads(base_url: str, materialized: int, repeats: int = 3,
                    timeout_s: float = 120) -> list[float]:
    """Seconds from opening the trader_models partitions page until it shows
    ``Materialized (<n>)`` with ``n`` = ``materialized`` (as the UI formats it), per load."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("RISK_CHROMIUM", "/usr/bin/chromium")
    profile = tempfile.mkdtemp(prefix="bench_ticks_chrome_")
    for flag in [*CHROME_FLAGS, f"--user-data-dir={profile}"]:
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(os.environ.get("RISK_CHROMEDRIVER",
                                                             "/usr/bin/chromedriver")),
                              options=opts)
    driver.set_page_load_timeout(timeout_s)
    wanted = (f"Materialized ({materialized:,})", f"Materialized ({materialized})")
    url = f"{base_url}/assets/trader_models?view=partitions"
    try:
        out = []
        for _ in range(repeats):
            driver.get("about:blank")
            started = time.perf_counter()
            driver.get(url)
            WebDriverWait(driver, timeout_s, poll_frequency=0.1).until(
                lambda d: any(w in d.find_element(By.TAG_NAME, "body").text for w in wanted),
                message=f"{wanted[0]!r} on {url}")
            out.append(time.perf_counter() - started)
        return out
    finally:
        driver.quit()


def _peaks_mb(pid: int) -> dict[int, float]:
    """Peak RSS (VmHWM, MB) of ``pid`` and its child processes (the webserver and its code
    server), read from /proc (Linux)."""
    out = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        hwm = [line for line in status.splitlines() if line.startswith("VmHWM:")]
        out[p] = int(hwm[0].split()[1]) / 1024 if hwm else float("nan")
        todo.extend(int(c) for c in children)
    return out


def time_ui(repeats: int = 3) -> dict[str, float]:
    """Slowest of ``repeats`` POSTs of each trader_models page query to a dagster-webserver,
    then the page's load time in the browser (``page_loads``: seconds per load)."""
    import requests

    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "dagster_webserver", "-m", "risk_dagster.definitions",
         "-h", "127.0.0.1", "-p", str(port)], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.time() + 600
        while time.time() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/server_info", timeout=5).ok:
                    break
            except requests.ConnectionError:
                time.sleep(1)
        variables = {"assetKey": {"path": ["trader_models"]}}
        out = {}
        for name, query in (("PartitionHealthQuery", PARTITION_HEALTH_QUERY),
                            ("partition stats + latest", PARTITION_STATS_QUERY)):
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                reply = requests.post(url, json={"query": query, "variables": variables},
                                      timeout=120)
                times.append(time.perf_counter() - started)
                body = reply.json()
                assert reply.ok and "errors" not in body, str(body)[:500]
            out[name] = max(times)
            if name == "PartitionHealthQuery":
                node = body["data"]["assetNodeOrError"]
                out["partitions"] = len(node["partitionKeysByDimension"][0]["partitionKeys"])
                out["materialized"] = len(node["assetPartitionStatuses"]["materializedPartitions"])
        out["page_loads"] = time_page_loads(f"http://127.0.0.1:{port}", out["materialized"],
                                            repeats)
        out["server_peaks_mb"] = _peaks_mb(server.pid)
        return out
    finally:
        server.terminate()
        server.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--traders", type=int, default=5000)
    parser.add_argument("--dates", type=int, default=252)
    parser.add_argument("--inbox", type=int, default=3)
    parser.add_argument("--no-ui", action="store_true", help="skip the webserver's GraphQL")
    parser.add_argument("--instance", choices=("local", "postgres"), default="local",
                        help="instance profile (postgres: set RISK_PG_* to an empty database)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_ticks_"))
    root, home = tmp / "data", tmp / "dagster_home"
    # The webserver's code location reads the same settings from its environment.
    os.environ.update(DAGSTER_HOME=str(home), RISK_DATA_DIR=str(root), RISK_SOURCE="landing",
                      RISK_INSTANCE=args.instance)
    from risk_dagster.core.settings import load_settings
    from risk_dagster.instance import open_instance

    instance = open_instance(load_settings())
    traders = trader_ids(args.traders)
    dates = session_dates(args.dates, NOW.date() - dt.timedelta(days=1))
    state = build_state(root, instance, traders, dates, args.inbox)
    print(f"{args.traders} traders, {args.dates} dates, {args.inbox} inbox files, "
          f"{args.instance} instance; data {tmp}")
    print(f"  trader_registry (adds the partitions)    {state['registry_s']:7.2f} s wall "
          f"{state['registry_cpu']:7.2f} s CPU  add_dynamic_partitions calls: {state['add_calls']}")
    print(f"  {args.traders} trader_models materializations {state['materializations_s']:7.2f} s "
          "(setup)")
    for name, wall, cpu, requests in time_ticks(instance, bench_definitions(root)):
        print(f"  {name:<40} {wall:7.2f} s wall {cpu:7.2f} s CPU  {requests} run requests")
    if not args.no_ui:
        ui = time_ui()
        print(f"  UI trader_models: {ui['partitions']} partitions, {ui['materialized']} "
              "materialized")
        for name in ("PartitionHealthQuery", "partition stats + latest"):
            print(f"  UI {name:<37} {ui[name]:7.2f} s  (slowest of 3)")
        loads = ", ".join(f"{s:.2f}" for s in ui["page_loads"])
        print(f"  UI trader_models page in Chromium, until 'Materialized ({ui['materialized']:,})'"
              f": {loads} s (cold, then warm; target < 5 s)")
        peaks = ", ".join(f"{mb:,.0f}" for mb in ui["server_peaks_mb"].values())
        print(f"  UI peak RSS of the webserver and its code server: {peaks} MB")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB (this process)")


if __name__ == "__main__":
    main()
