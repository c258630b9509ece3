"""Bench: one drift_report run over a range of dates, with and without the run-wide DriftCache.

    .venv/bin/python -m bench.drift_report                    # 40 traders, 60 dates
    .venv/bin/python -m bench.drift_report --traders 100 --dates 120

Builds a simulated firm (2024-01-02..--end) through the assets themselves (ingest, features,
models with ``--cutoff``), then computes ``champion_drift_report`` for the first ``--dates``
sessions after the cutoff twice, in this process, on the same data:
- per date: a new ``DriftCache`` for every date (each date loads the champions and calibrates
  every reference again; before the cache ``drift_report`` did that and also loaded the shared
  pooled model once per trader);
- per run: one ``DriftCache`` shared by every date (what ``drift_report`` does now).
Prints both wall times, the ratio, and whether the two reports are equal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

os.environ.setdefault("DAGSTER_HOME", tempfile.mkdtemp(prefix="bench_dh_"))
warnings.filterwarnings("ignore")  # Dagster's beta warnings at import

import dagster as dg  # noqa: E402

from risk_dagster.core.lake import Lake  # noqa: E402
from risk_dagster.core.settings import Settings  # noqa: E402
from risk_dagster.defs.assets import build_date_assets  # noqa: E402
from risk_dagster.defs.assets import models as ma  # noqa: E402
from risk_dagster.defs.assets.ingest import trader_registry  # noqa: E402
from risk_dagster.core.tables import read_feature_history  # noqa: E402
from risk_dagster.defs.partitions import TRADER_PARTITIONS_NAME, build_date_partitions  # noqa: E402
from risk_dagster.defs.resources import LakeResource, ModelSettings, TradeSource  # noqa: E402
from risk_dagster.monitoring import MonitoringConfig  # noqa: E402
from risk_dagster.monitoring.drift_report import DriftCache, champion_drift_report  # noqa: E402
from risk_dagster.defs.partitions import RANGE_END_TAG, RANGE_START_TAG  # noqa: E402

_DATED = build_date_assets(build_date_partitions(Settings()))
ASSETS = [*(_DATED[n] for n in ("raw_trades", "trader_day_panel", "trader_features", "risk_labels")),
          trader_registry, ma.pooled_model, ma.trader_models, ma.model_evaluation]


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--traders", type=int, default=40)
    p.add_argument("--end", default="2025-06-30")
    p.add_argument("--cutoff", default="2024-12-31")
    p.add_argument("--dates", type=int, default=60)
    p.add_argument("--n-trials", type=int, default=5)
    return p.parse_args()


def _build(root: Path, a: argparse.Namespace, instance) -> None:
    resources = {
        "lake": LakeResource(data_dir=str(root)),
        "source": TradeSource(kind="simulator", data_dir=str(root), sim_traders=a.traders,
                              sim_start="2024-01-02", sim_end=a.end),
        "models": ModelSettings(n_trials=a.n_trials, pooled_n_trials=a.n_trials, n_folds=2,
                                cutoff=a.cutoff),
    }

    def run(selection, first, last):
        res = dg.materialize(ASSETS, selection=selection, instance=instance, resources=resources,
                             tags={RANGE_START_TAG: first, RANGE_END_TAG: last},
                             run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
        assert res.success

    run(dg.AssetSelection.groups("ingest", "features"), "2024-01-02", a.end)
    traders = instance.get_dynamic_partitions(TRADER_PARTITIONS_NAME)
    run(dg.AssetSelection.groups("models"), traders[0], traders[-1])


def _reports(root: Path, days: list[dt.date], shared: bool) -> tuple[list[pd.DataFrame], float]:
    lake = Lake(root)
    history = read_feature_history(lake, days[-1], since=days[0])
    labels = lake.read_df("risk_labels", "date")
    cfg, cache, out = MonitoringConfig(), DriftCache(), []
    t0 = time.perf_counter()
    for day in days:
        out.append(champion_drift_report(history[history["trade_date"] <= day], labels, day,
                                          root / "models", cfg, calendar="XNYS",
                                          cache=cache if shared else DriftCache()))
    return out, time.perf_counter() - t0


def main() -> None:
    a = _args()
    with tempfile.TemporaryDirectory(prefix="bench_drift_report_") as tmp, \
            dg.instance_for_test() as instance:
        root = Path(tmp)
        t0 = time.perf_counter()
        _build(root, a, instance)
        features = Lake(root).read_df("trader_features", "date")
        days = sorted(d for d in features["trade_date"].unique()
                      if d > dt.date.fromisoformat(a.cutoff))[: a.dates]
        print(f"[build] {a.traders} traders, 2024-01-02..{a.end}, models up to {a.cutoff}: "
              f"{time.perf_counter() - t0:.1f} s; drift_report over {len(days)} dates "
              f"{days[0]}..{days[-1]}")
        per_date, s_per_date = _reports(root, days, shared=False)
        per_run, s_per_run = _reports(root, days, shared=True)
    same = all(x.equals(y) for x, y in zip(per_date, per_run, strict=True))
    checked = int((per_run[-1]["status"] == "checked").sum())
    print(f"per date (new cache every date): {s_per_date:.1f} s "
          f"({s_per_date / len(days) * 1000:.0f} ms a date, {checked} traders checked)")
    print(f"per run (one cache):             {s_per_run:.1f} s "
          f"({s_per_run / len(days) * 1000:.0f} ms a date)")
    print(f"ratio {s_per_date / s_per_run:.2f}x; same reports: {same}")


if __name__ == "__main__":
    main()
