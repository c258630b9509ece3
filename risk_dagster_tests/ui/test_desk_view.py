"""What a risk manager does in the browser, on a small demo lake: the asset graph, the asset
pages (recommendations, model evaluation, one partition of features), a 3-date backfill launched
through the UI, the reports opened through their links and from disk with the network off; and
`risk-dagster dev` stopping its whole tree on SIGTERM (last: it stops the shared server)."""

from __future__ import annotations

import shutil
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from risk_dagster_tests.factories import fetched_resources

pytestmark = pytest.mark.usefixtures("browser_available")
WAIT_S = 60  # the UI's first GraphQL answers take a while on a busy 2-core machine


def _wait(driver, condition, timeout=WAIT_S, what=""):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.25).until(condition, message=what)


def _text_present(text):
    from selenium.webdriver.common.by import By

    def check(driver):
        return text in driver.find_element(By.TAG_NAME, "body").text
    return check


def _dismiss_welcome(driver):
    """Close the UI's "Join the Dagster community" dialog (shown once per browser profile)."""
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):
        if button.is_displayed():
            button.click()


def _open(driver, url, *texts):
    """Open ``url``, wait for every text, dismiss the welcome dialog."""
    driver.get(url)
    for text in texts:
        _wait(driver, _text_present(text), what=f"{text!r} on {url}")
    _dismiss_welcome(driver)


def _severe_logs(driver):
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def _assert_charts_rendered(driver, url):
    """Plotly is defined and drew at least one chart (an SVG inside a .js-plotly-plot)."""
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(url)
    _wait(driver, lambda d: d.execute_script(
        "return document.querySelectorAll('.js-plotly-plot .main-svg').length") > 0,
        what=f"a rendered Plotly chart in {url}")
    assert driver.execute_script("return typeof Plotly") != "undefined"
    assert _severe_logs(driver) == [], url


def _assert_evidently_rendered(driver, url, column):
    """Evidently's page is a React app drawing from data embedded in the file: once its script
    ran, the rendered text (not the embedded JSON) names the tested column."""
    driver.get_log("browser")
    driver.get(url)
    _wait(driver, lambda d: column in d.execute_script(
        "const r = document.querySelector('[id^=root_]'); return r ? r.innerText : ''"),
        what=f"Evidently's dashboard drawn in {url}")
    assert _severe_logs(driver) == [], url


def test_demo_printed_progress(demo_lake):
    out = demo_lake.output
    assert "[1/3] daily_pipeline_job: 28 dates, 2024-01-02..2024-02-08" in out
    assert "[2/3] weekly_training_job: 4 traders" in out
    assert "daily_pipeline_job                 8/8 steps" in out
    assert "trade_recommendations              1/1 dates" in out and "elapsed" in out


def test_asset_graph(browser, dev_server):
    _open(browser, f"{dev_server.ui_url}/asset-groups", "Global asset lineage")
    for group in ("ingest", "features", "models", "recommendations", "monitoring"):
        _wait(browser, _text_present(group), what=f"group {group}")
    _open(browser, f"{dev_server.ui_url}/locations/risk_dagster.definitions/asset-groups/"
          "recommendations", "risk_scores", "trade_recommendations")


def test_trade_recommendations_links_its_report(browser, dev_server, demo_lake):
    from selenium.webdriver.common.by import By

    _open(browser, f"{dev_server.ui_url}/assets/trade_recommendations", "levels",
          "latest_report")
    links = {a.get_attribute("href") for a in browser.find_elements(
        By.XPATH, f"//a[starts-with(@href, '{dev_server.reports_url}')]")}
    report = f"{dev_server.reports_url}/live/2024-02-09/report.html"
    assert {report, f"{dev_server.reports_url}/live/2024-02-09/recommendations.csv",
            f"{dev_server.reports_url}/live/"} <= links
    assert "latest_report_path" in browser.find_element(By.TAG_NAME, "body").text  # to copy
    # the link opens the morning's report, served by the report server, charts drawn
    _assert_charts_rendered(browser, report)
    assert browser.title == "Daily risk report 2024-02-09"


def test_trade_recommendations_shows_the_per_trader_table(browser, dev_server):
    _open(browser, f"{dev_server.ui_url}/assets/trade_recommendations", "levels")
    _wait(browser, _text_present("per_trader"), timeout=5)
    for trader in ("T0001", "T0002", "T0003", "T0004"):
        assert trader in browser.page_source


def test_recommendation_partitions_are_the_sessions_meant_to_be_scored(browser, dev_server):
    # the demo scores its last session; earlier dates are not expected, so none reads "missing"
    _open(browser, f"{dev_server.ui_url}/assets/trade_recommendations?view=partitions",
          "Materialized (1)", "Missing (0)", "2024-02-08")


def test_model_evaluation_page(browser, dev_server):
    _open(browser, f"{dev_server.ui_url}/assets/model_evaluation", "labelled_rows",
          "large_loss_days", "champions")


def test_one_partition_of_trader_features(browser, dev_server):
    _open(browser, f"{dev_server.ui_url}/assets/trader_features?view=partitions"
          "&partition=2024-02-07", "Materialized (28)", "Latest materialization", "rows",
          "features")


def test_backfill_of_three_dates_from_the_ui_runs_once_and_succeeds(browser, dev_server,
                                                                    demo_lake):
    import dagster as dg
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    instance = dg.DagsterInstance.from_config(str(demo_lake.data_dir / "dagster_home"))
    before = {b.backfill_id for b in instance.get_backfills()}
    # trader_day_panel: its check is cheap (trader_features' point-in-time check recomputes
    # features, minutes on a loaded 2-core machine)
    _open(browser, f"{dev_server.ui_url}/assets/trader_day_panel", "Materialize")
    time.sleep(1)  # the welcome dialog may come up late
    _dismiss_welcome(browser)
    browser.find_element(By.XPATH, "//button[starts-with(normalize-space(), 'Materialize')]").click()
    dialog = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[role=dialog]"),
                   what="the launch dialog")
    _wait(browser, _text_present("Partition selection"))
    box = dialog.find_element(By.XPATH, ".//input[starts-with(@placeholder, 'ex:')]")
    box.send_keys("[2024-02-05...2024-02-07]", Keys.TAB)
    _wait(browser, _text_present("3 partitions"), what="3 partitions selected")
    assert "Backfills all partitions in a single run." in dialog.text
    dialog.find_element(By.XPATH, ".//button[normalize-space()='Launch backfill']").click()

    deadline = time.monotonic() + 600  # a ceiling: the daemon picks the backfill up within 30 s
    while True:
        new = [b for b in instance.get_backfills() if b.backfill_id not in before]
        runs = instance.get_runs(filters=dg.RunsFilter(
            tags={"dagster/backfill": new[0].backfill_id})) if new else []
        if runs and runs[0].is_finished:
            break
        assert time.monotonic() < deadline, f"backfill {new} runs {runs} not done in 600 s"
        time.sleep(1)
    assert len(new) == 1 and len(runs) == 1  # one backfill, as a single run
    run = runs[0]
    assert run.status == dg.DagsterRunStatus.SUCCESS, run.status
    assert run.tags["dagster/asset_partition_range_start"] == "2024-02-05"
    assert run.tags["dagster/asset_partition_range_end"] == "2024-02-07"
    _open(browser, f"{dev_server.ui_url}/runs/{run.run_id}", "Success")


def _reports(data_dir: Path) -> list[Path]:
    return sorted(p for folder in ("reports", "live") for p in (data_dir / folder).rglob("*.html"))


def test_every_report_renders_from_disk_with_the_network_off(offline_browser, demo_lake,
                                                             tmp_path):
    reports = _reports(demo_lake.data_dir)
    assert [p.relative_to(demo_lake.data_dir).as_posix() for p in reports] == [
        "live/2024-02-09/report.html"]  # too short a history for a model evaluation
    for i, report in enumerate(reports):
        alone = tmp_path / f"copy{i}" / report.name  # copied anywhere, on its own
        alone.parent.mkdir()
        shutil.copyfile(report, alone)
        assert fetched_resources(alone.read_text(encoding="utf-8")) == []
        _assert_charts_rendered(offline_browser, alone.as_uri())
        assert offline_browser.title.startswith("Daily risk report")


def test_the_network_is_really_off(offline_browser):
    offline_browser.get("data:text/html,<script src='https://cdn.plot.ly/plotly-2.35.2.min.js'>"
                        "</script><p>x</p>")
    time.sleep(0.5)
    assert offline_browser.execute_script("return typeof Plotly") == "undefined"
    refused = [e["message"] for e in _severe_logs(offline_browser)]
    assert any("cdn.plot.ly" in m and "ERR_" in m for m in refused), refused


def test_evaluation_and_drift_reports_render_offline(offline_browser, tmp_path):
    """The writers the small lake does not reach: the weekly evaluation (all candidates and
    champions) and Evidently's drift page, written from generated data."""
    import numpy as np
    import pandas as pd

    from risk_dagster.evaluation import EvaluationConfig, evaluate, select_champions, write_reports
    from risk_dagster.monitoring import MonitoringConfig
    from risk_dagster.monitoring.drift import save_drift_html
    from risk_dagster_tests.evaluation.conftest import make_synthetic

    preds, labels, truth = make_synthetic(n_traders=1, n_days=130)
    ev = evaluate(preds, labels, truth, EvaluationConfig(bootstrap_samples=5))
    paths = [write_reports(ev, tmp_path / "eval", champions=select_champions(ev),
                           title="Every candidate")["paths"]["html"],
             write_reports(ev, tmp_path / "champ", title="Champions")["paths"]["html"]]
    rng = np.random.default_rng(0)
    days = pd.bdate_range("2024-01-02", periods=280)
    frame = pd.DataFrame({"trader_id": "T0001", "trade_date": days.date,
                          "pnl_vol_21d": rng.normal(0, 1, 280), "loss_streak": rng.poisson(1, 280),
                          "p_large_loss": rng.uniform(0, 0.3, 280)})
    frame.loc[250:, "pnl_vol_21d"] += 3.0
    drift = save_drift_html(frame.iloc[:250], frame.iloc[250:], ["pnl_vol_21d", "loss_streak"],
                            MonitoringConfig(shift_features=()), tmp_path / "drift" / "T0001.html")
    titles = []
    for path in [*paths, drift]:
        assert fetched_resources(path.read_text(encoding="utf-8")) == [], path
        if path == drift:
            _assert_evidently_rendered(offline_browser, path.as_uri(), "pnl_vol_21d")
        else:
            _assert_charts_rendered(offline_browser, path.as_uri())
        titles.append(offline_browser.title)
    assert titles == ["Every candidate", "Champions", f"Drift report T0001 {days[-1].date()}"]


def test_dev_stops_its_whole_tree_on_sigterm(dev_server):
    """Last: stops the session's server. Every process `risk-dagster dev` started (dagster
    dev, webserver, daemon, code servers, run workers) is gone, both ports are closed."""
    import psutil

    tree = psutil.Process(dev_server.proc.pid).children(recursive=True)
    assert len(tree) >= 3  # dagster dev, its webserver and daemon at least
    dev_server.proc.send_signal(signal.SIGTERM)
    assert dev_server.proc.wait(timeout=60) == 128 + signal.SIGTERM
    alive = []
    for p in tree:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p.cmdline())
        except psutil.NoSuchProcess:
            pass
    assert alive == []
    for url in (f"{dev_server.ui_url}/server_info", dev_server.reports_url):
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(url, timeout=2)
