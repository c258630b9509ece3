"""`risk-dagster simulate` -> `risk-dagster ingest` (CLI) and the inbox path, against fixed text."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from risk_dagster.ingest.inbox import process_inbox_file, read_landed
from risk_dagster.simulator import SimulationConfig, simulate, write_propreports_exports

ROOT = Path(__file__).resolve().parents[2]
# The first fill of the simulated firm (2 traders, seed 7), as `simulate` writes it: fixed text,
# checked here so that a change of the writer or of the simulator is seen.
FIRST_FILL = ("01/02/2024 09:48:32.483170,T0001,B,670,S023,56.4227,IEX,R,2.345,2.01,0.0,0.0,"
              "0.0234,0.0,0.0,0.0015,0.0,0.134,0.0,T0001-20240102-0000,T0001-20240102-0000-1,USD,,,,1")
FIRST_TOTALS = "01/02/2024,T0001,Eq,6,16,11060,1430.3480000000138,"


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> list[Path]:
    cfg = SimulationConfig(n_traders=2, start=dt.date(2024, 1, 2), end=dt.date(2024, 1, 3), seed=7)
    paths = write_propreports_exports(simulate(cfg), tmp_path_factory.mktemp("sim"))
    assert paths[0].read_text().splitlines()[1] == FIRST_FILL
    assert paths[1].read_text().splitlines()[1].startswith(FIRST_TOTALS)
    return paths


def _check_first_fill(fills: pd.DataFrame) -> None:
    row = fills.set_index("fill_id").loc["T0001-20240102-0000-1"]
    assert row["ts"] == pd.Timestamp("2024-01-02 14:48:32.483170", tz="UTC")
    assert (row["qty"], row["price"], row["symbol"]) == (670.0, 56.4227, "S023")
    assert row["fees"] == pytest.approx(2.345 + 2.01 + 0.0234 + 0.0015 + 0.134)


def test_inbox_path_lands_the_simulated_exports(exports, tmp_path):
    for path in exports:
        dropped = tmp_path / "inbox" / "propreports" / path.name
        dropped.parent.mkdir(parents=True, exist_ok=True)
        dropped.write_bytes(path.read_bytes())
        result = process_inbox_file(dropped, "propreports", tmp_path, calendar="XNYS",
                                    first_date=dt.date(2024, 1, 2))
        assert result.status == "landed", result.error
    fills = read_landed(tmp_path, "fills", ["2024-01-02"]).to_pandas()
    _check_first_fill(fills)
    totals = read_landed(tmp_path, "totals", ["2024-01-02"]).to_pandas().set_index("trader_id")
    assert totals.loc["T0001", "net_pnl"] == pytest.approx(1361.8923)


def test_cli_ingest_of_simulated_exports(exports, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DAGSTER_HOME": str(tmp_path / "home")}
    for key in ("RISK_START_DATE", "RISK_CALENDAR", "RISK_SOURCE"):
        env.pop(key, None)
    proc = subprocess.run(
        [sys.executable, "-m", "risk_dagster.cli", "--data-dir", str(tmp_path / "data"), "ingest",
         *map(str, exports), "--source", "propreports", "--ingest-only"],
        capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"landed {exports[0]}: 133 fills rows, 2 dates" in proc.stdout
    assert "2 of 2 file(s) landed" in proc.stdout
    con = duckdb.connect()
    fills = con.sql(f"SELECT * FROM read_parquet('{tmp_path / 'data' / 'raw_fills'}/*/*.parquet')"
                    ).df()
    assert len(fills) == 133
    _check_first_fill(fills)
