"""Feature assets: the trader-day panel, the point-in-time feature table and the labels.

All three are partitioned by trading date and backfill a range of dates in one run. Features
and labels read the whole panel history they need (features: every date up to the run's last;
labels: every date, as they look forward), so a date's values do not depend on how the run was
sliced.
"""

import datetime as dt

import dagster as dg
import numpy as np
import pandas as pd

from risk_dagster.core.calendar import sessions
from risk_dagster.core.tables import read_panel, write_dates
from risk_dagster.defs.metadata import catalog_table, per_partition_results
from risk_dagster.defs.partitions import partition_dates, single_run
from risk_dagster.defs.resources import LakeResource, TradeSource
from risk_dagster.features import build_features, feature_catalog
from risk_dagster.labels import LABEL_RATE_BOUNDS, build_labels
from risk_dagster.labels import PANEL_INPUTS as LABEL_INPUTS
from risk_dagster.panel import build_trader_day_panel, roster

_OWNERS = ["team:risk-engineering"]


def _trader_day_panel(context: dg.AssetExecutionContext, lake: LakeResource, source: TradeSource):
    dates = partition_dates(context)
    panel = build_trader_day_panel(lake.lake, dates, calendar=source.calendar)
    write_dates(lake.lake, "trader_day_panel", panel, dates)
    counts = _date_counts(panel, traded=panel["traded"].astype(bool).to_numpy())
    per_date = {}
    for day in dates:
        n, traders, traded = counts.get(day, (0, 0, 0))
        per_date[day.isoformat()] = {
            "rows": n, "traders": traders,
            "traded_share_pct": round(100 * float(traded / n), 1) if n else 0.0,
            **_closed_note(n)}
    yield from per_partition_results(context.asset_key, context.partition_keys, {
        "dates": len(dates), "rows_in_run": len(panel), "columns": len(panel.columns),
        "path": dg.MetadataValue.path(str(lake.lake.asset_dir("trader_day_panel")))}, per_date)


def _by_date(frame: pd.DataFrame) -> dict[dt.date, pd.DataFrame]:
    return dict(tuple(frame.groupby("trade_date", sort=False))) if len(frame) else {}


def _date_counts(frame: pd.DataFrame, **per_row: np.ndarray) -> dict[dt.date, tuple[int, ...]]:
    """Per trade_date: (rows, distinct traders, then the sum of each ``per_row`` array), in one
    groupby (splitting a million-row frame into per-date copies cost seconds at 5,000 traders)."""
    if not len(frame):
        return {}
    keys = frame["trade_date"].to_numpy()
    grouped = pd.DataFrame({"trader_id": frame["trader_id"].to_numpy(), **per_row}).groupby(
        keys, sort=False)
    out = pd.concat([grouped.size(), grouped["trader_id"].nunique(),
                     *(grouped[name].sum() for name in per_row)], axis=1)
    return {day: tuple(int(v) for v in row) for day, row in zip(out.index, out.to_numpy(),
                                                                strict=True)}


def _closed_note(rows: int) -> dict:
    """A date without rows says why instead of showing zeros alone."""
    return {} if rows else {"note": "no rows: not a session (holiday or weekend) or no "
                                    "trader on the roster yet"}


@dg.asset_check(asset="trader_day_panel", blocking=True,
                description="Each stored date has exactly one row per trader on the roster "
                "(recomputed from raw_fills), and no P&L on days without fills.")
def check_panel_rows_match_roster(lake: LakeResource, source: TradeSource) -> dg.AssetCheckResult:
    con = lake.lake.connect(["trader_day_panel", "raw_fills"])
    panel = con.execute("SELECT trade_date, trader_id, traded, net_pnl FROM trader_day_panel").df()
    activity = con.execute("SELECT DISTINCT trade_date, trader_id FROM raw_fills").df()
    days = pd.to_datetime(panel["trade_date"])
    all_sessions = sessions(source.calendar, activity["trade_date"].min(), days.max().date())
    expected = roster(activity, all_sessions)
    expected = expected[expected["trade_date"].isin(set(days.dt.date))]
    got = panel.assign(trade_date=days.dt.date)
    keys = ["trade_date", "trader_id"]
    diff = got[keys].merge(expected, on=keys, how="outer", indicator=True)
    extra, missing = (diff["_merge"] == "left_only").sum(), (diff["_merge"] == "right_only").sum()
    dup = int(got.duplicated(keys).sum())
    untraded_pnl = int((~got["traded"].astype(bool) & got["net_pnl"].notna()).sum())
    return dg.AssetCheckResult(
        passed=bool(extra == missing == dup == untraded_pnl == 0),
        metadata={"rows": len(got), "not_on_roster": int(extra), "roster_rows_missing": int(missing),
                  "duplicated_trader_days": dup, "untraded_days_with_net_pnl": untraded_pnl})


def _trader_features(context: dg.AssetExecutionContext, lake: LakeResource):
    dates = partition_dates(context)
    features = build_features(read_panel(lake.lake, until=max(dates)))
    features = features[features["trade_date"].isin(set(dates))]
    write_dates(lake.lake, "trader_features", features, dates)
    catalog = feature_catalog()
    catalog_path = lake.lake.write_table("trader_features_catalog", catalog)
    n_features = features.shape[1] - 2
    counts = _date_counts(features, missing=features.iloc[:, 2:].isna().to_numpy().sum(axis=1))
    per_date = {}
    for day in dates:
        n, traders, missing = counts.get(day, (0, 0, 0))
        per_date[day.isoformat()] = {
            "rows": n, "traders": traders,
            "missing_values_pct": round(100 * float(missing / (n * n_features)), 1)
            if n else 0.0, **_closed_note(n)}
    yield from per_partition_results(context.asset_key, context.partition_keys, {
        "dates": len(dates), "rows_in_run": len(features), "features": len(catalog),
        "by_category": dg.MetadataValue.json(catalog["category"].value_counts().to_dict()),
        "catalog_path": dg.MetadataValue.path(str(catalog_path))}, per_date)


@dg.asset_check(asset="trader_features", blocking=True,
                description="Point in time: on stored sessions that have rows (the middle one and "
                "the last one), features recomputed from the panel cut at that session equal the "
                "stored ones (nothing after D leaks into D). Fails when no stored session has rows.")
def check_features_point_in_time(lake: LakeResource) -> dg.AssetCheckResult:
    with_rows = []
    if lake.lake.keys("trader_features", "date"):
        con = lake.lake.connect(["trader_features"])
        with_rows = [r[0] for r in con.execute(
            "SELECT trade_date FROM trader_features GROUP BY 1 ORDER BY 1").fetchall()]
    if not with_rows:
        return dg.AssetCheckResult(passed=False, metadata={
            "note": "no stored session has feature rows: nothing to probe"})
    probes = sorted({pd.Timestamp(with_rows[len(with_rows) // 2]).date(),
                     pd.Timestamp(with_rows[-1]).date()})
    panel = read_panel(lake.lake, until=probes[-1])
    compared, differing = 0, []
    for probe in probes:
        stored = lake.lake.read_df("trader_features", "date", [probe.isoformat()])
        recomputed = build_features(panel[panel["trade_date"] <= probe])
        recomputed = recomputed[recomputed["trade_date"] == probe]
        cols = [c for c in stored.columns if c not in ("trade_date", "trader_id")]
        a = stored.sort_values("trader_id")[cols].to_numpy(float)
        b = recomputed.sort_values("trader_id")[cols].to_numpy(float)
        same = len(a) > 0 and a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=1e-9,
                                                                  equal_nan=True)
        compared += len(stored)
        if not same:
            differing.append(probe.isoformat())
    return dg.AssetCheckResult(passed=not differing, metadata={
        "probe_dates": ", ".join(p.isoformat() for p in probes), "rows_compared": compared,
        "sessions_with_rows": len(with_rows),
        "differing_dates": ", ".join(differing) or "none"})


def _risk_labels(context: dg.AssetExecutionContext, lake: LakeResource):
    dates = partition_dates(context)
    labels = build_labels(read_panel(lake.lake, columns=LABEL_INPUTS))
    labels = labels[labels["trade_date"].isin(set(dates))]
    write_dates(lake.lake, "risk_labels", labels, dates)
    by_date = _by_date(labels)
    per_date = {d.isoformat(): _label_counts(by_date.get(d, labels.iloc[0:0])) for d in dates}
    yield from per_partition_results(context.asset_key, context.partition_keys, {
        "dates": len(dates), "rows_in_run": len(labels)}, per_date)


def _label_counts(labels: pd.DataFrame) -> dict:
    """Rows by label status and the rates among complete labels (percent)."""
    complete = labels[labels["label_status"] == "complete"]

    def pct(col: str) -> float:
        return round(100 * float(complete[col].astype(float).mean()), 1) if len(complete) else 0.0

    return {"rows": len(labels), "complete": len(complete),
            "pending": int((labels["label_status"] == "pending").sum()),
            "no_next_trade": int((labels["label_status"] == "no_next_trade").sum()),
            "large_loss_rate_pct": pct("large_loss"), "dd_breach_rate_pct": pct("dd_breach"),
            **_closed_note(len(labels))}


@dg.asset_check(asset="risk_labels", blocking=True,
                description=f"Large-loss rate among complete labels within {LABEL_RATE_BOUNDS}.")
def check_label_balance(lake: LakeResource) -> dg.AssetCheckResult:
    con = lake.lake.connect(["risk_labels"])
    n, rate = con.execute("SELECT count(*), avg(large_loss::DOUBLE) FROM risk_labels "
                          "WHERE label_status = 'complete' AND large_loss IS NOT NULL").fetchone()
    lo, hi = LABEL_RATE_BOUNDS
    passed = n == 0 or (rate is not None and lo <= rate <= hi)
    return dg.AssetCheckResult(passed=bool(passed), metadata={
        "complete_labels": int(n), "large_loss_rate": float(rate or 0.0),
        "bounds": f"{lo}..{hi}"})


def build_feature_assets(date_partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The panel, features and labels on ``date_partitions``."""
    trader_day_panel = dg.asset(
        name="trader_day_panel",
        deps=["raw_fills", "raw_totals"], partitions_def=date_partitions, backfill_policy=single_run,
        group_name="features", kinds={"parquet", "duckdb"}, owners=_OWNERS,
        description="One row per trader on the roster per session: P&L, activity, fills aggregates, "
        "intraday behaviour. A roster day without fills is traded=false, never a fabricated 0.",
    )(_trader_day_panel)
    trader_features = dg.asset(
        name="trader_features",
        deps=[trader_day_panel], partitions_def=date_partitions, backfill_policy=single_run,
        group_name="features", kinds={"parquet", "pandas"}, owners=_OWNERS,
        description="Features known at the close of D for predicting D+1 (the catalog, with the "
        "phrase each feature's reasons read with, is in the definition's metadata).",
        metadata={"features": len(feature_catalog()), "catalog": catalog_table(feature_catalog())},
    )(_trader_features)
    risk_labels = dg.asset(
        name="risk_labels",
        deps=[trader_day_panel], partitions_def=date_partitions, backfill_policy=single_run,
        group_name="features", kinds={"parquet", "pandas"}, owners=_OWNERS,
        description="For each trader-day D, the outcome of the trader's next traded session: net "
        "P&L, large loss (threshold from data before D only), drawdown breach; 'pending' until known.",
    )(_risk_labels)
    return [trader_day_panel, trader_features, risk_labels]
