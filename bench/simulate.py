"""Generation speed of the simulated firm: fills, seconds, fills/s and peak RSS.

Usage: python -m bench.simulate [n_traders] [years]   (default: 40 traders x 2 years and
500 traders x 3 years). Iterates in chunks, as the pipeline does, so memory stays bounded.
"""

from __future__ import annotations

import datetime as dt
import resource
import sys
import time

from risk_dagster.simulator import SimulationConfig, iter_simulation


def run(n_traders: int, years: int) -> None:
    cfg = SimulationConfig(n_traders=n_traders, start=dt.date(2023, 1, 3),
                           end=dt.date(2023 + years - 1, 12, 29))
    t0 = time.perf_counter()
    fills = rows = 0
    for batch in iter_simulation(cfg):
        fills += batch.fills.num_rows
        rows += batch.totals.num_rows
    secs = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{n_traders} traders x {years}y: {fills} fills, {rows} trader-days, {secs:.1f} s, "
          f"{fills / secs:,.0f} fills/s, peak RSS {rss_mb:.0f} MB", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        run(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    else:
        run(40, 2)
        run(500, 3)
