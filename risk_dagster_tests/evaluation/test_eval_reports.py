import json

import pandas as pd

from risk_dagster.evaluation.champions import select_champions
from risk_dagster.evaluation.charts import calibration_curve
from risk_dagster.evaluation.config import EvaluationConfig
from risk_dagster.evaluation.evaluate import evaluate
from risk_dagster.evaluation.reports import write_reports
from risk_dagster_tests.factories import PLOTLY_BUNDLE_HEAD, fetched_resources


def test_calibration_curve_bins():
    cal = calibration_curve([0, 1, 0, 1], [0.05, 0.08, 0.92, 0.95], bins=10)
    assert cal["bin"].tolist() == [0, 9]
    assert cal["mean_pred"].tolist() == [0.065, 0.935]
    assert cal["frac_pos"].tolist() == [0.5, 0.5] and cal["n"].tolist() == [2, 2]


def test_write_reports(synthetic, tmp_path):
    preds, labels, truth = synthetic
    ev = evaluate(preds, labels, truth, EvaluationConfig(bootstrap_samples=20))
    champions = select_champions(ev)
    importance = pd.DataFrame({"feature": ["loss_streak", "drawdown_21d", "pnl_vol_21d"] * 2,
                               "importance": [3.0, 2.0, 1.0, 5.0, 2.0, 1.0],
                               "model": ["a"] * 3 + ["b"] * 3})
    out = write_reports(ev, tmp_path / "rep", importance=importance, champions=champions)
    paths = out["paths"]
    payload = json.loads(paths["json"].read_text())
    assert {"notes", "config", "key_numbers", "firm", "per_trader", "counterfactual",
            "comparison", "thresholds", "champions"} <= set(payload)
    assert set(payload["champions"]) == {"T0001", "T0002", "T0003", "T0004"}
    assert out["key_numbers"]["pooled_lgbm_auc"] == payload["key_numbers"]["pooled_lgbm_auc"]
    assert 0.5 < out["key_numbers"]["pooled_lgbm_oracle_capture"] < 1.2
    assert sum(v for k, v in out["key_numbers"].items() if k.startswith("champions_")) == 4
    page = paths["html"].read_text()
    assert page.count('class="plotly-graph-div"') == 4
    assert fetched_resources(page) == []  # offline and on its own: nothing to fetch
    assert page.count(PLOTLY_BUNDLE_HEAD) == 1  # plotly.js inlined once, shared by the 4 charts
    for title in ("Equity curves", "Calibration (reliability) curve", "Feature importance",
                  "Per-trader out-of-sample metrics", "loss_streak"):
        assert title in page
    assert 4_000_000 < paths["html"].stat().st_size < 6_000_000  # the bundle is ~4.6 MB
    md = paths["markdown"].read_text()
    assert "## Champions" in md and "upper bound" in md and "| T0001 |" in md
    assert "| n_rows | 4,800 |" in md  # 4 models x 4 traders x 300 days


def test_write_reports_without_importance_or_with_series(synthetic, tmp_path):
    preds, labels, _ = synthetic
    ev = evaluate(preds, labels, cfg=EvaluationConfig(bootstrap_samples=10))
    page = write_reports(ev, tmp_path / "a")["paths"]["html"].read_text()
    assert page.count('class="plotly-graph-div"') == 3
    assert "Feature importance: not provided." in page
    gain = pd.Series({"size_ratio_21d": 7.0, "loss_streak": 2.0})
    page = write_reports(ev, tmp_path / "b", importance=gain)["paths"]["html"].read_text()
    assert page.count('class="plotly-graph-div"') == 4 and "size_ratio_21d" in page


def test_title_names_the_report(synthetic, tmp_path):
    preds, labels, _ = synthetic
    ev = evaluate(preds[preds["trader_id"] == "T0001"], labels,
                  cfg=EvaluationConfig(bootstrap_samples=5))
    page = write_reports(ev, tmp_path / "a")["paths"]["html"].read_text()
    assert "<title>Out-of-sample evaluation</title>" in page
    page = write_reports(ev, tmp_path / "b", title="Champions vs rules <T0001>")["paths"][
        "html"].read_text()
    assert "<title>Champions vs rules &lt;T0001&gt;</title>" in page
    assert "<h1>Champions vs rules &lt;T0001&gt;</h1>" in page
    assert fetched_resources(page) == [] and page.count(PLOTLY_BUNDLE_HEAD) == 1
