"""Throughput of the PropReports fills parser on a large generated export (not a test).

Run: .venv/bin/python -m bench.parse_propreports [rows] [--no-fill-id]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from risk_dagster.ingest import parse_propreports_fills
from risk_dagster_tests.ingest.samples import FILLS_26


def write_export(path: Path, n: int, *, fill_id: bool = True, seed: int = 0) -> None:
    """A 26-column PropReports-style fills export of ``n`` rows over 20 sessions, 200 traders."""
    rng = np.random.default_rng(seed)
    day = pd.Timestamp("2024-01-02") + pd.to_timedelta(rng.integers(0, 28, n), unit="D")
    day = day.where(day.dayofweek < 5, day - pd.Timedelta(days=2))
    ts = day + pd.to_timedelta(rng.integers(9 * 3600 + 1800, 16 * 3600, n), unit="s")
    frame = pd.DataFrame({c: "" for c in FILLS_26}, index=range(n))
    frame["Date/Time"] = ts.strftime("%m/%d/%Y %H:%M:%S")
    frame["Account"] = np.char.add("T", np.char.zfill(rng.integers(1, 201, n).astype(str), 4))
    frame["B/S"] = rng.choice(["B", "S", "T"], n)
    frame["Qty"] = rng.integers(1, 2000, n)
    frame["Symbol"] = rng.choice(["AAPL", "MSFT", "NVDA", "TSLA", "AMD", "SPY"], n)
    frame["Price"] = rng.uniform(5, 500, n).round(4)
    frame["Route"] = rng.choice(["ARCA", "NSDQ", "EDGX"], n)
    frame["Liq"] = rng.choice(["A", "R"], n)
    for col in ["Comm", "Ecn Fee", "SEC", "ORF", "CAT", "TAF", "Clr"]:
        frame[col] = rng.uniform(-0.1 if col == "Ecn Fee" else 0, 1, n).round(4)
    frame[["FTT", "NSCC", "Acc", "Misc"]] = 0
    frame["Order Id"] = np.arange(n) // 3
    frame["Fill Id"] = np.arange(n) if fill_id else ""
    frame["Currency"], frame["PropReports Id"] = "USD", np.arange(n) + 10**8
    frame.to_csv(path, index=False)


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv and argv[0].isdigit() else 1_000_000
    fill_id = "--no-fill-id" not in argv
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fills.csv"
        write_export(path, n, fill_id=fill_id)
        size = path.stat().st_size
        start = time.perf_counter()
        fills = parse_propreports_fills(path)
        elapsed = time.perf_counter() - start
    assert len(fills) == n
    print(f"{n:,} rows ({size / 1e6:.0f} MB, fill ids {'given' if fill_id else 'hashed'}): "
          f"{elapsed:.2f} s, {n / elapsed:,.0f} rows/s")


if __name__ == "__main__":
    main(sys.argv[1:])
