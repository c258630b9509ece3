"""Ingest assets: raw fills and daily totals per trading date, the simulator's ground truth,
and the trader registry that feeds the dynamic ``trader`` partitions."""

import dagster as dg
import pandas as pd

from risk_dagster.core.calendar import is_session
from risk_dagster.core.schemas import FILLS, GROUND_TRUTH, TOTALS
from risk_dagster.core.trader_ids import validate_trader_id
from risk_dagster.defs.metadata import column_schema, markdown_table
from risk_dagster.defs.partitions import (
    TRADER_PARTITIONS_NAME,
    partition_dates,
    single_run,
)
from risk_dagster.defs.resources import LakeResource, TradeSource
from risk_dagster.ingest.inbox import landing_summary
from risk_dagster.ingest.partition_checks import CheckOutcome
from risk_dagster.ingest.raw_partitions import BlockingCheckFailure, ingest_batches

FILLS_CHECKS = ["fills_schema", "fills_no_null_keys", "fills_positive_price_qty", "fills_known_sides",
                "fills_unique", "fills_in_partition", "fills_valid_trader_ids"]
TOTALS_CHECKS = ["totals_schema", "totals_unique", "totals_in_partition",
                 "totals_net_is_gross_minus_fees", "totals_reconcile_with_fills",
                 "totals_gross_matches_fills_fifo"]
_OWNERS = ["team:risk-engineering"]


def _check_spec(name: str, asset: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(f"check_{name}", asset=asset, blocking=True,
                             description=name.replace("_", " "))


def _check_result(outcome: CheckOutcome, asset: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset, check_name=f"check_{outcome.name}", passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR if outcome.blocking else dg.AssetCheckSeverity.WARN,
        metadata={"detail": outcome.detail, "failures": outcome.failures,
                  "examples": dg.MetadataValue.json(outcome.examples)},
    )


def _raw_trades(context: dg.AssetExecutionContext, lake: LakeResource, source: TradeSource):
    """Fetch the run's dates from the source in chunks, validate, and replace their partitions
    (all of them or, when a blocking check fails, none)."""
    dates = partition_dates(context)
    origin = source.build()
    try:
        stats = ingest_batches(origin.iter_batches(dates), lake.lake, dates, source.calendar,
                               with_truth=origin.has_truth, pnl_tol_usd=source.pnl_tolerance_usd,
                               lookback_days=source.carry_lookback_days)
    except BlockingCheckFailure as exc:
        raise dg.Failure(description=str(exc), metadata={
            o.name: dg.MetadataValue.json(o.examples) for o in exc.failed}) from exc
    closed = sum(not is_session(source.calendar, d) for d in dates)
    landed = (landing_summary(lake.root, [d.isoformat() for d in dates])
              if source.kind == "landing" else {})  # files, bad rows skipped, duplicates dropped
    common = {"source": origin.describe(), "dates": len(dates), "first_date": dates[0].isoformat(),
              "last_date": dates[-1].isoformat(), "closed_sessions": closed}
    yield dg.MaterializeResult(asset_key="raw_fills", metadata={
        **common, "rows": stats.fills, "traders": len(stats.traders),
        "sessions_without_fills": len(dates) - closed - len(stats.fill_dates), **landed,
        "path": dg.MetadataValue.path(str(lake.lake.asset_dir("raw_fills")))})
    yield dg.MaterializeResult(asset_key="raw_totals", metadata={
        **common, "rows": stats.totals, "derived_rows": stats.derived,
        "derived_from_fills": stats.totals > 0 and stats.derived == stats.totals,
        "net_pnl_usd": round(stats.net_pnl, 2),
        "path": dg.MetadataValue.path(str(lake.lake.asset_dir("raw_totals")))})
    if origin.has_truth:
        yield dg.MaterializeResult(asset_key="ground_truth", metadata={**common, "rows": stats.truth})
    for outcome in stats.outcomes.values():
        yield _check_result(outcome, "raw_fills" if outcome.name.startswith("fills") else "raw_totals")


def registry_from_lake(con) -> pd.DataFrame:
    """One row per trader seen in raw_fills: first/last date, active days, fills."""
    return con.sql(
        "SELECT trader_id, min(trade_date) AS first_date, max(trade_date) AS last_date, "
        "count(DISTINCT trade_date) AS active_days, count(*) AS fills "
        "FROM raw_fills GROUP BY trader_id ORDER BY trader_id").df()


@dg.asset(
    deps=["raw_fills"], group_name="ingest", kinds={"parquet"}, owners=_OWNERS,
    pool="trader_registry",
    description="Every trader seen in raw_fills; each new id (validated) becomes a partition "
    "of the dynamic 'trader' partitions.",
)
def trader_registry(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    registry = registry_from_lake(lake.lake.connect(["raw_fills"]))
    ids = [validate_trader_id(t) for t in registry["trader_id"]]
    known = set(context.instance.get_dynamic_partitions(TRADER_PARTITIONS_NAME))
    new = [t for t in ids if t not in known]
    if new:
        context.instance.add_dynamic_partitions(TRADER_PARTITIONS_NAME, new)
    path = lake.lake.write_table("trader_registry", registry)
    return dg.MaterializeResult(metadata={
        "traders": len(ids), "new_traders": len(new),
        "new_trader_ids": ", ".join(new[:50]) + (" …" if len(new) > 50 else ""),
        "registry": markdown_table(registry), "path": dg.MetadataValue.path(str(path))})


def build_ingest_assets(date_partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The date-partitioned ingest assets on ``date_partitions``."""
    raw_trades = dg.multi_asset(
        name="raw_trades",
        specs=[
            dg.AssetSpec("raw_fills", description="Every fill of every trader, canonical schema, "
                         "one partition per trading date.", kinds={"parquet"}, owners=_OWNERS,
                         metadata={"dagster/column_schema": column_schema(FILLS)}),
            dg.AssetSpec("raw_totals", description="Daily totals per trader (reported, or derived "
                         "from the fills where the source has none).", kinds={"parquet"},
                         owners=_OWNERS, metadata={"dagster/column_schema": column_schema(TOTALS)}),
            dg.AssetSpec("ground_truth", description="Simulated firm only: latent state and true "
                         "large-loss probability per trader-day. Never a model input.",
                         kinds={"parquet"}, owners=_OWNERS, skippable=True,
                         metadata={"dagster/column_schema": column_schema(GROUND_TRUTH)}),
        ],
        check_specs=[_check_spec(n, "raw_fills") for n in FILLS_CHECKS]
        + [_check_spec(n, "raw_totals") for n in TOTALS_CHECKS],
        partitions_def=date_partitions,
        backfill_policy=single_run,
        group_name="ingest",
        can_subset=False,
        # Two ingests over the same dates at once would both rewrite the same raw partitions:
        # one at a time (the pool's limit is in dagster.yaml).
        pool="raw_trades",
    )(_raw_trades)
    return [raw_trades]
