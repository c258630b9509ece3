"""Browser tests: headless Chromium (Selenium) against `risk-dagster dev` on a small demo lake.

The lake (4 traders, ~6 weeks) is built once per session by `risk-dagster demo` in a temporary
folder; `risk-dagster dev` serves it on free ports. Without Chromium or chromedriver the tests
fail in CI (CI=true) and are skipped, loudly, elsewhere. A failing test saves a screenshot
beside its temporary files and prints the path.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("RISK_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("RISK_CHROMEDRIVER", "/usr/bin/chromedriver")
# The small firm: 4 traders, 28 date partitions 2024-01-02..2024-02-08 (its last day),
# recommendations for the morning of 2024-02-09.
LAKE_ENV = {"RISK_SIM_TRADERS": "4", "RISK_START_DATE": "2024-01-02",
            "RISK_SIM_END_DATE": "2024-02-08", "RISK_SOURCE": "simulator"}
# Chromium flags for this machine's closed network (no background connections) and for root.
CHROME_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--window-size=1400,1000"]
# Network off: every host name fails to resolve and every request goes to a proxy at a closed
# port (file:// pages are not affected).
OFFLINE_FLAGS = ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost",
                 "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]


def _require_browser() -> None:
    """Fail in CI, skip loudly elsewhere, when the browser or its driver is missing."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (pip install -e '.[test]')")
    if not missing:
        return
    reason = (f"browser tests need {', '.join(missing)} (Debian: apt-get install chromium "
              "chromium-driver; .ci/run installs them)")
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"CI: {reason}", pytrace=False)
    sys.stderr.write(f"\n*** SKIPPING THE BROWSER TESTS: {reason} ***\n")
    pytest.skip(f"NOT RUN: {reason}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(data_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "risk_dagster.cli", "--data-dir", str(data_dir), *args]


def _env(**extra: str) -> dict:
    env = {**os.environ, **LAKE_ENV, "DO_NOT_TRACK": "1", **extra}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("DAGSTER_HOME", None)  # the CLI puts it under the data directory
    return env


@dataclass
class DemoLake:
    data_dir: Path
    output: str  # what `risk-dagster demo` printed
    seconds: float
    reports_port: int  # the report server's port that the lake's metadata links to


@dataclass
class DevServer:
    proc: subprocess.Popen
    ui_url: str
    reports_url: str
    log: Path


@pytest.fixture(scope="session")
def browser_available() -> None:
    _require_browser()


@pytest.fixture(scope="session")
def demo_lake(tmp_path_factory, browser_available) -> DemoLake:
    """The small demo lake. ``RISK_UI_TEST_LAKE=<dir>`` (to iterate on these tests locally):
    build it there once, then copy it for each session."""
    data_dir = tmp_path_factory.mktemp("ui_lake") / "data"
    cache = os.environ.get("RISK_UI_TEST_LAKE")
    if cache and (Path(cache) / "demo.json").exists():
        shutil.copytree(Path(cache) / "data", data_dir)
        return DemoLake(data_dir, **json.loads((Path(cache) / "demo.json").read_text()))
    reports_port = free_port()
    started = time.perf_counter()
    # links in the metadata point where the dev fixture will serve the reports
    out = subprocess.run(_cli(data_dir, "demo"), env=_env(
        RISK_REPORTS_URL=f"http://127.0.0.1:{reports_port}"), capture_output=True,
        text=True, timeout=900)
    assert out.returncode == 0, f"demo failed:\n{out.stdout}\n{out.stderr}"
    lake = DemoLake(data_dir, out.stdout, time.perf_counter() - started, reports_port)
    if cache:
        shutil.copytree(data_dir, Path(cache) / "data")
        (Path(cache) / "demo.json").write_text(json.dumps(
            {"output": lake.output, "seconds": lake.seconds, "reports_port": reports_port}))
    return lake


def _wait_http(url: str, proc: subprocess.Popen, timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"risk-dagster dev exited ({proc.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in {timeout_s} s:\n{log.read_text()[-3000:]}")


def start_dev(data_dir: Path, ui_port: int, reports_port: int, log: Path) -> DevServer:
    """`risk-dagster dev` on the given ports, in its own session, once its UI answers."""
    with log.open("w") as fh:
        proc = subprocess.Popen(
            _cli(data_dir, "dev", "--port", str(ui_port), "--reports-port", str(reports_port)),
            env=_env(RISK_REPORTS_URL=f"http://127.0.0.1:{reports_port}"), stdout=fh,
            stderr=subprocess.STDOUT, start_new_session=True, cwd=str(data_dir))
    server = DevServer(proc, f"http://127.0.0.1:{ui_port}", f"http://127.0.0.1:{reports_port}",
                       log)
    try:
        _wait_http(f"{server.ui_url}/server_info", proc, 300, log)
    except BaseException:
        stop_dev(server)
        raise
    return server


def stop_dev(server: DevServer, timeout_s: float = 30) -> None:
    """SIGTERM `risk-dagster dev`; whatever of its session survives is killed (cleanup only:
    test_dev_stops_its_whole_tree asserts that nothing needs it)."""
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(server.proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    server.proc.wait()


@pytest.fixture(scope="session")
def dev_server(demo_lake, tmp_path_factory) -> DevServer:
    log = tmp_path_factory.mktemp("ui_dev") / "dev.log"
    server = start_dev(demo_lake.data_dir, free_port(), demo_lake.reports_port, log)
    yield server
    stop_dev(server)


def _chrome(extra: list[str], user_dir: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in [*CHROME_FLAGS, *extra, f"--user-data-dir={user_dir}"]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(90)
    return driver


@pytest.fixture(scope="session")
def browser(browser_available, tmp_path_factory):
    driver = _chrome([], tmp_path_factory.mktemp("chrome_profile"))
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def offline_browser(browser_available, tmp_path_factory):
    driver = _chrome(OFFLINE_FLAGS, tmp_path_factory.mktemp("chrome_offline_profile"))
    yield driver
    driver.quit()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        for name in ("browser", "offline_browser"):
            driver = item.funcargs.get(name)
            if driver is None:
                continue
            folder = item.funcargs.get("tmp_path") or Path(
                item.config._tmp_path_factory.mktemp("ui_failures"))
            shot = Path(folder) / f"{item.name}_{name}.png"
            try:
                driver.save_screenshot(str(shot))
                msg = f"screenshot of the failure: {shot} (page {driver.current_url})"
            except Exception as exc:  # the browser itself may be what failed
                msg = f"no screenshot ({exc})"
            report.sections.append(("browser", msg))
            sys.stderr.write(f"\n{msg}\n")
    return report
