"""Bench: the FIFO reconciliation of reported gross P&L (``reconcile_fifo_pnl``) on generated
fills; prints fills/s and peak RSS.

    .venv/bin/python -m bench.fifo                       # 1,000,000 fills
    .venv/bin/python -m bench.fifo --fills 200000 --chunks 4

Fills: ``--traders`` accounts x 4 symbols, random buys and sells of 1-5 units (positions drift
and are carried across days and chunks), 20 days; the reported totals are the same FIFO rule
applied in one pass over all days, so the check must pass: splitting into ``--chunks`` date
chunks checked in order with one ledger (as ``ingest_batches`` does) must not change a cent.
Prints wall and CPU seconds: on a shared machine the wall time mostly measures the others.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time

import numpy as np
import pandas as pd


def _fills(n: int, traders: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2024-01-02", periods=20)
    day = np.sort(rng.integers(0, len(days), n))
    ts = (pd.DatetimeIndex(days[day]).tz_localize("America/New_York")
          + pd.to_timedelta(9.5 * 3600 + rng.integers(0, 6 * 3600, n), unit="s"))
    return pd.DataFrame({
        "trade_date": days[day].date, "ts": ts.tz_convert("UTC"),
        "trader_id": [f"T{t:04d}" for t in rng.integers(0, traders, n)],
        "symbol": np.array(["AAA", "BBB", "MESH5", "CLJ5"])[rng.integers(0, 4, n)],
        "side": np.where(rng.random(n) < 0.5, "B", "S"), "qty": rng.integers(1, 6, n) * 1.0,
        "price": 100 + rng.normal(0, 1, n).round(2), "multiplier": 1.0, "fees": 0.1,
    })


def main() -> None:
    from risk_dagster.ingest.fifo import FifoLedger, fifo_by_trader_day
    from risk_dagster.ingest.partition_checks import reconcile_fifo_pnl

    parser = argparse.ArgumentParser()
    parser.add_argument("--fills", type=int, default=1_000_000)
    parser.add_argument("--traders", type=int, default=1_000)
    parser.add_argument("--chunks", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    fills = _fills(args.fills, args.traders, args.seed)
    fifo = fifo_by_trader_day(fills, FifoLedger())  # the reported totals: same rule, one pass
    totals = fifo.rename(columns={"fifo_gross": "gross_pnl", "fills_fees": "fees"})
    totals["derived"] = False
    days = sorted(fills["trade_date"].unique())
    chunks = np.array_split(np.array(days, dtype=object), args.chunks)
    ledger, failures = FifoLedger(), 0
    started, cpu = time.perf_counter(), time.process_time()
    for chunk in chunks:
        wanted = set(chunk)
        outcome = reconcile_fifo_pnl(fills[fills["trade_date"].isin(wanted)],
                                     totals[totals["trade_date"].isin(wanted)], ledger)
        failures += outcome.failures
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"fills: {len(fills):,}  trader-days: {len(totals):,}  chunks: {args.chunks}  "
          f"failures: {failures}")
    print(f"reconcile_fifo_pnl: {seconds:.2f} s wall, {cpu:.2f} s CPU, "
          f"{len(fills) / cpu:,.0f} fills per CPU second; "
          f"peak RSS {peak:,.0f} MB  ({dt.datetime.now():%Y-%m-%d %H:%M})")


if __name__ == "__main__":
    main()
