"""PropReports-format exports of a simulated batch."""

import numpy as np
import pandas as pd

from risk_dagster.simulator import simulate
from risk_dagster.simulator.fees import FEE_COLUMNS
from risk_dagster.simulator.propreports import FILLS_HEADER, TOTALS_HEADER, write_propreports_exports


def test_exports_round_trip(small_config, small, tmp_path):
    fills, totals, _ = small
    batch = simulate(small_config)
    paths = write_propreports_exports(batch, tmp_path)
    assert [p.name.split("_")[0] for p in paths] == ["fills", "totals"]
    f = pd.read_csv(paths[0], keep_default_na=False)
    t = pd.read_csv(paths[1], keep_default_na=False)
    assert list(f.columns) == FILLS_HEADER and list(t.columns) == TOTALS_HEADER
    assert len(f) == len(fills) and len(t) == len(totals)
    np.testing.assert_allclose(f[list(FEE_COLUMNS)].sum(axis=1), fills.fees, atol=1e-9)
    assert ((f["B/S"] == "T") == fills.short_sale).all()
    assert set(f.Liq) == {"A", "R"}
    # read back by the ingest parser (not by the strftime that wrote it): exact to the µs
    from risk_dagster.ingest import parse_propreports_fills

    back = parse_propreports_fills(paths[0])
    assert (back["ts"].to_numpy() == fills["ts"].to_numpy()).all()
    assert (back["fill_id"].to_numpy() == fills["fill_id"].to_numpy()).all()
    assert f["Date/Time"].str.slice(11, 13).astype(int).between(9, 16).all()
    np.testing.assert_allclose(t.Net, t.Gross - t[list(FEE_COLUMNS)].sum(axis=1), atol=1e-6)
    np.testing.assert_allclose(t["Total Δ"], t.Net + t["Unrealized Δ"], atol=1e-9)
    assert (t.Type == "Eq").all() and t.Date.str.match(r"\d\d/\d\d/\d{4}$").all()
