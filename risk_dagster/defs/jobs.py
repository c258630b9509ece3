"""Jobs. Date-partitioned asset jobs run a range of dates as one run (single-run backfills)."""


import datetime as dt
from pathlib import Path

import dagster as dg

from risk_dagster.defs.resources import LakeResource, TradeSource
from risk_dagster.ingest.inbox import process_inbox_file

ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.groups("ingest"),
    description="Fetch, validate and store raw fills and totals for a range of dates, then "
    "register new traders.",
)

daily_pipeline_job = dg.define_asset_job(
    "daily_pipeline_job",
    selection=dg.AssetSelection.groups("ingest", "features"),
    description="Everything date-partitioned for a range of dates: ingest, panel, features, labels.",
)
labels_job = dg.define_asset_job(
    "labels_job",
    selection=dg.AssetSelection.assets("risk_labels"),
    description="Refresh labels of recent dates once their next session is ingested.",
)

weekly_training_job = dg.define_asset_job(
    "weekly_training_job",
    selection=dg.AssetSelection.groups("models"),
    description="Retrain the pooled model and every trader's candidates (one run over all trader "
    "partitions), then evaluate and pick champions.",
)
retrain_trader_job = dg.define_asset_job(
    "retrain_trader_job",
    selection=dg.AssetSelection.assets("trader_models", "model_evaluation"),
    description="Retrain one trader's candidates (its partition) and re-pick champions.",
)

score_date_job = dg.define_asset_job(
    "score_date_job",
    selection=dg.AssetSelection.groups("recommendations"),
    description="Score a date (or a range, as one run) and publish the recommendations.",
)

monitoring_job = dg.define_asset_job(
    "monitoring_job",
    selection=dg.AssetSelection.groups("monitoring"),
    description="Drift and decay of every champion for a date (or a range, as one run).",
)

morning_job = dg.define_asset_job(
    "morning_job",
    selection=dg.AssetSelection.groups("ingest", "features", "monitoring"),
    description="The daily run for the latest complete session: ingest it, update the panel, "
    "features and labels, check drift. Its success starts score_date_job for the same session "
    "(morning_scoring_sensor): scores and recommendations have their own partitions, the "
    "sessions meant to be scored.",
)

replay_job = dg.define_asset_job(
    "replay_job",
    selection=dg.AssetSelection.assets("replay_report"),
    description="The report of the replay in the data directory. `risk-dagster replay` drives "
    "the replay itself (it stands in for the daemon: evaluates the schedules and the drift "
    "sensor at each tick and runs what they request, each run in this instance), then this job.",
)


class InboxFilesConfig(dg.Config):
    source: str
    paths: list[str]


@dg.op
def ingest_inbox_files(context: dg.OpExecutionContext, config: InboxFilesConfig,
                       lake: LakeResource, source: TradeSource) -> None:
    """Parse dropped files into the landing zone; reject (and keep aside) the bad ones."""
    rejected = []
    for raw_path in config.paths:
        result = process_inbox_file(Path(raw_path), config.source, lake.root,
                                    calendar=source.calendar,
                                    # the first date partition (build_defs sets sim_start to
                                    # settings.start_date): earlier rows refuse the file
                                    first_date=dt.date.fromisoformat(source.sim_start),
                                    contracts=source.contracts_file)
        context.log.info(f"{result.status}: {raw_path} -> {result.moved_to} "
                         f"({result.rows} rows, dates {result.dates[:3]}…)")
        for warning in result.warnings:
            context.log.warning(f"{raw_path}: {warning}")
        if result.status == "rejected":
            rejected.append(f"{raw_path}: {result.error} (kept at {result.moved_to})")
    if rejected:
        raise dg.Failure(description="rejected files:\n" + "\n".join(rejected),
                         metadata={"rejected": len(rejected)})


@dg.job(description="Process files dropped in `<data>/inbox/<source>/` (launched by inbox_sensor).")
def inbox_ingest_job():
    ingest_inbox_files()
