"""Ingest assets: raw fills and daily totals per trading date, the simulator's ground truth,
and the trader registry that feeds the dynamic ``trader`` partitions."""


import datetime as dt

import dagster as dg
import pandas as pd
import pyarrow.compute as pc

from risk_dagster.core.calendar import is_session
from risk_dagster.core.schemas import FILLS, GROUND_TRUTH, TOTALS
from risk_dagster.core.trader_ids import validate_trader_id
from risk_dagster.defs.metadata import column_schema, markdown_table
from risk_dagster.defs.partitions import TRADER_PARTITIONS_NAME, date_partitions, single_run
from risk_dagster.defs.resources import LakeResource, TradeSource
from risk_dagster.ingest.partition_checks import CheckOutcome, blocking_failures
from risk_dagster.ingest.raw_partitions import prepare_raw_partitions, split_by_date, to_canonical

FILLS_CHECKS = ["fills_schema", "fills_no_null_keys", "fills_positive_price_qty", "fills_known_sides",
                "fills_unique", "fills_in_partition", "fills_valid_trader_ids"]
TOTALS_CHECKS = ["totals_schema", "totals_unique", "totals_in_partition",
                 "totals_net_is_gross_minus_fees", "totals_reconcile_with_fills"]
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


@dg.multi_asset(
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
)
def raw_trades(context: dg.AssetExecutionContext, lake: LakeResource, source: TradeSource):
    """Fetch the run's dates from the source in chunks, validate, and replace their partitions.

    Every partition of the run is staged and replaces the stored one only when all chunks pass
    the blocking checks, so a failed run leaves the lake as it was.
    """
    dates = [dt.date.fromisoformat(k) for k in context.partition_keys]
    stats = IngestStats()
    with lake.lake.staged() as stage:
        covered: set[dt.date] = set()
        for batch in source.iter_batches(dates):
            raw = prepare_raw_partitions(batch.fills, batch.totals, batch.dates, source.calendar)
            failed = blocking_failures(raw.outcomes)
            if failed:  # raising discards the staged partitions
                raise dg.Failure(
                    description="raw data failed blocking checks: "
                    + "; ".join(f"{o.name}: {o.detail}" for o in failed),
                    metadata={o.name: dg.MetadataValue.json(o.examples) for o in failed})
            truth = None if batch.truth is None else to_canonical(batch.truth, GROUND_TRUTH)
            _stage_dates(stage, batch.dates, raw.fills, raw.totals, truth)
            stats.add(raw, truth)
            covered.update(batch.dates)
        # dates no chunk covered (closed sessions, days outside the source) become empty
        # partitions, so a re-run also clears rows that a date no longer has
        _stage_dates(stage, [d for d in dates if d not in covered], FILLS.arrow.empty_table(),
                     TOTALS.arrow.empty_table(), GROUND_TRUTH.arrow.empty_table()
                     if source.kind == "simulator" else None)
    closed = sum(not is_session(source.calendar, d) for d in dates)
    common = {"source": source.describe(), "dates": len(dates), "first_date": dates[0].isoformat(),
              "last_date": dates[-1].isoformat(), "closed_sessions": closed}
    yield dg.MaterializeResult(asset_key="raw_fills", metadata={
        **common, "rows": stats.fills, "traders": len(stats.traders),
        "sessions_without_fills": len(dates) - closed - len(stats.fill_dates),
        "path": dg.MetadataValue.path(str(lake.lake.asset_dir("raw_fills")))})
    yield dg.MaterializeResult(asset_key="raw_totals", metadata={
        **common, "rows": stats.totals, "derived_rows": stats.derived,
        "derived_from_fills": stats.totals > 0 and stats.derived == stats.totals,
        "net_pnl_usd": round(stats.net_pnl, 2),
        "path": dg.MetadataValue.path(str(lake.lake.asset_dir("raw_totals")))})
    if source.kind == "simulator":
        yield dg.MaterializeResult(asset_key="ground_truth", metadata={**common, "rows": stats.truth})
    for outcome in stats.outcomes.values():
        yield _check_result(outcome, "raw_fills" if outcome.name.startswith("fills") else "raw_totals")


def _stage_dates(stage, dates, fills, totals, truth) -> None:
    tables = {"raw_fills": fills, "raw_totals": totals}
    if truth is not None:
        tables["ground_truth"] = truth.sort_by([("trade_date", "ascending"), ("trader_id", "ascending")])
    for asset, table in tables.items():
        for day, part in split_by_date(table, dates).items():
            stage.write(asset, "date", day.isoformat(), part)


class IngestStats:
    """Totals over the chunks of one run, and the worst outcome of each check."""

    def __init__(self):
        self.fills = self.totals = self.derived = self.truth = 0
        self.net_pnl = 0.0
        self.traders: set[str] = set()
        self.fill_dates: set = set()
        self.outcomes: dict[str, CheckOutcome] = {}

    def add(self, raw, truth) -> None:
        self.fills += raw.fills.num_rows
        self.totals += raw.totals.num_rows
        self.derived += raw.derived_totals
        self.truth += 0 if truth is None else truth.num_rows
        self.net_pnl += float(pc.sum(raw.totals["net_pnl"]).as_py() or 0.0)
        self.traders.update(pc.unique(raw.fills["trader_id"]).to_pylist())
        self.fill_dates.update(pc.unique(raw.fills["trade_date"]).to_pylist())
        for o in raw.outcomes:
            seen = self.outcomes.get(o.name)
            if seen is None or (seen.passed and not o.passed):
                self.outcomes[o.name] = o
            elif not o.passed:
                self.outcomes[o.name] = CheckOutcome(o.name, False, o.blocking, o.detail,
                                                     seen.failures + o.failures, seen.examples)


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
