"""A persistent simulated-firm lake for the benches (built once, reused while its marker matches).

    .venv/bin/python -m bench.firm_lake --data-dir bench/out/bench500 --traders 500 --start 2023-01-03
    .venv/bin/python -m bench.firm_lake --data-dir bench/out/bench40 --traders 40 --start 2024-01-02

``ensure_raw`` fills ``raw_fills``/``raw_totals``/``ground_truth`` straight from the simulator
through ``ingest_batches`` (what the ``raw_trades`` asset calls with ``RISK_SOURCE=simulator``).
``ensure_features`` writes ``trader_day_panel``, ``trader_features`` and ``risk_labels`` one
partition per date with the assets' own ``write_dates``. A JSON marker per stage records the
parameters; a lake whose marker differs is refused rather than silently reused.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

CALENDAR = "XNYS"


def _marker(data_dir: Path, stage: str) -> Path:
    return data_dir / f".bench_{stage}.json"


def read_marker(data_dir: Path, stage: str) -> dict | None:
    """The parameters a stage (``raw`` / ``features``) was built with, or None if not built."""
    path = _marker(data_dir, stage)
    return json.loads(path.read_text()) if path.exists() else None


def lake_dates(start: str, end: str, calendar: str = CALENDAR) -> list[dt.date]:
    """Sessions from ``start`` to ``end`` (ISO dates), as python dates."""
    from risk_dagster.core.calendar import sessions

    return [d.date() for d in sessions(calendar, dt.date.fromisoformat(start),
                                       dt.date.fromisoformat(end))]


def ensure_raw(data_dir: str, traders: int, start: str, end: str, seed: int = 7) -> dict:
    """Simulate and ingest the firm into ``data_dir`` unless already there; returns the marker."""
    from risk_dagster.core.lake import Lake
    from risk_dagster.defs.resources import TradeSource
    from risk_dagster.ingest.raw_partitions import ingest_batches
    from risk_dagster.simulator.config import SIMULATOR_VERSION

    root = Path(data_dir)
    params = {"traders": traders, "start": start, "end": end, "seed": seed,
              "simulator": SIMULATOR_VERSION}
    seen = read_marker(root, "raw")
    if seen is not None:
        if {k: seen.get(k) for k in params} != params:
            raise SystemExit(f"{root} holds another firm {seen}; use another --data-dir")
        return seen
    root.mkdir(parents=True, exist_ok=True)
    source = TradeSource(kind="simulator", data_dir=str(root), sim_traders=traders,
                         sim_seed=seed, sim_start=start, sim_end=end)
    dates = lake_dates(start, end)
    t0 = time.perf_counter()
    stats = ingest_batches(source.iter_batches(dates), Lake(root), dates, CALENDAR,
                           with_truth=True)
    out = {**params, "fills": stats.fills, "dates": len(dates),
           "build_s": round(time.perf_counter() - t0, 1)}
    _marker(root, "raw").write_text(json.dumps(out))
    return out


def ensure_features(data_dir: str) -> dict:
    """Panel, features and labels of every date of the raw lake, written like the assets do."""
    from risk_dagster.core.lake import Lake
    from risk_dagster.core.tables import write_dates
    from risk_dagster.features import build_features, feature_catalog
    from risk_dagster.labels import build_labels
    from risk_dagster.panel import build_trader_day_panel

    root = Path(data_dir)
    raw = read_marker(root, "raw")
    if raw is None:
        raise SystemExit(f"{root} has no raw lake yet (ensure_raw first)")
    seen = read_marker(root, "features")
    if seen is not None:
        return seen
    lake = Lake(root)
    dates = lake_dates(raw["start"], raw["end"])
    t0 = time.perf_counter()
    panel = build_trader_day_panel(lake, dates, calendar=CALENDAR)
    write_dates(lake, "trader_day_panel", panel, dates)
    features = build_features(panel)
    write_dates(lake, "trader_features", features, dates)
    lake.write_table("trader_features_catalog", feature_catalog())
    labels = build_labels(panel)
    write_dates(lake, "risk_labels", labels, dates)
    out = {"panel_rows": len(panel), "features": features.shape[1] - 2,
           "complete_labels": int((labels["label_status"] == "complete").sum()),
           "build_s": round(time.perf_counter() - t0, 1)}
    _marker(root, "features").write_text(json.dumps(out))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--traders", type=int, default=500)
    parser.add_argument("--start", default="2023-01-03")
    parser.add_argument("--end", default="2025-12-31")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--raw-only", action="store_true")
    args = parser.parse_args()
    print("raw:", ensure_raw(args.data_dir, args.traders, args.start, args.end, args.seed),
          flush=True)
    if not args.raw_only:
        print("features:", ensure_features(args.data_dir), flush=True)


if __name__ == "__main__":
    main()
