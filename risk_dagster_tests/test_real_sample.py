"""The real crypto-exchange sample (../shared/data/real) through the whole pipeline, as a user
would run it: `risk-dagster ingest ... --source hyperliquid --calendar 24/7`."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "hyperliquid_fills.csv"


@pytest.mark.skipif(not SAMPLE.exists(), reason="shared/data/real is not beside the checkout")
def test_real_sample_end_to_end(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RISK_", "DAGSTER_HOME"))}
    proc = subprocess.run(
        [sys.executable, "-m", "risk_dagster.cli", "--data-dir", str(tmp_path / "data"), "ingest",
         str(SAMPLE), "--source", "hyperliquid", "--calendar", "24/7"],
        capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "landed" in proc.stdout and "15629 fills rows" in proc.stdout
    data = tmp_path / "data"
    panel = pd.read_parquet(data / "trader_day_panel")
    assert panel["trader_id"].nunique() == 4 and panel["traded"].sum() == 122
    features = pd.read_parquet(data / "trader_features")
    assert len(features) == len(panel) and features.shape[1] - 2 >= 150
    live = sorted((data / "live").glob("20*"))[-1]
    recs = pd.read_csv(live / "recommendations.csv")
    assert live.name == "2025-05-02" and len(recs) >= 1
    # too little history to validate a model: every row says it is the rules baseline
    assert (recs["score_source"] == "rules_baseline").all()
    # ingest also ran monitoring over the dates it ingested: every trader-day of the range is in
    # the drift report, each one either checked or skipped with its reason (no champion here)
    assert "monitoring_job" in proc.stdout
    drift = pd.read_parquet(data / "drift_report")
    assert len(drift) == len(features)
    assert drift.loc[drift["status"] != "checked", "skip_reason"].notna().all()
