"""Sensors."""


import dagster as dg

from risk_dagster.defs.jobs import (inbox_ingest_job, ingest_job, morning_job, retrain_trader_job,
                                   score_date_job)
from risk_dagster.defs.partitions import PARTITION_TAG, TRADER_PARTITIONS_NAME
from risk_dagster.defs.resources import LakeResource, TradeSource
from risk_dagster.ingest.inbox import landing_changes, pending_files


def build_inbox_sensor(date_partitions: dg.PartitionsDefinition) -> dg.SensorDefinition:
    """The inbox sensor; landed dates outside ``date_partitions`` are logged and skipped."""

    @dg.sensor(jobs=[inbox_ingest_job, ingest_job], minimum_interval_seconds=30,
               description="Launches inbox_ingest_job for each new file in `<data>/inbox/<source>/`, "
               "then ingest_job for every date whose landed data changed.")
    def inbox_sensor(context: dg.SensorEvaluationContext, lake: LakeResource, source: TradeSource):
        requests = []
        for src, path in pending_files(lake.root):
            stat = path.stat()
            requests.append(dg.RunRequest(
                job_name=inbox_ingest_job.name,
                run_key=f"inbox:{src}:{path.name}:{stat.st_size}:{int(stat.st_mtime)}",
                run_config={"ops": {"ingest_inbox_files": {"config": {"source": src, "paths": [str(path)]}}}},
                tags={"risk/source": src, "risk/file": path.name},
            ))
        since = float(context.cursor or 0)
        changes = landing_changes(lake.root, since)
        valid = set(date_partitions.get_partition_keys(dynamic_partitions_store=context.instance))
        for day, mtime in sorted(changes.items()):
            if source.kind != "landing":
                context.log.info(f"landed data for {day} is not read: the source is {source.kind!r} "
                                 "(set RISK_SOURCE=landing)")
            elif day not in valid:
                context.log.warning(f"landed data for {day} is outside the date partitions; skipped")
            else:
                requests.append(dg.RunRequest(job_name=ingest_job.name, partition_key=day,
                                              run_key=f"landed:{day}:{mtime:.6f}"))
        cursor = max([since, *changes.values()])
        return dg.SensorResult(run_requests=requests, cursor=repr(cursor))

    return inbox_sensor


@dg.sensor(job=retrain_trader_job, minimum_interval_seconds=300,
           description="Requests retrain_trader_job for each trader that the latest drift_report "
           "flags (drift or performance decay, past the cooldown), with the reason in the tags.")
def drift_retrain_sensor(context: dg.SensorEvaluationContext, lake: LakeResource):
    keys = [k for k in lake.lake.keys("drift_report", "date") if k > (context.cursor or "")]
    if not keys:
        return dg.SkipReason("no new drift_report partition")
    report = lake.lake.read_df("drift_report", "date", [keys[-1]])
    flagged = report[report["retrain"].astype(bool)] if "retrain" in report else report.iloc[0:0]
    if not len(flagged):
        return dg.SensorResult(run_requests=[], cursor=keys[-1])
    # One query for every registered trader; each request then carries its partition tag, so
    # Dagster does not look each trader up again (one query per request, ~5 ms each).
    registered = set(context.instance.get_dynamic_partitions(TRADER_PARTITIONS_NAME))
    unknown = sorted(set(flagged["trader_id"]) - registered)
    if unknown:
        context.log.warning(f"{len(unknown)} flagged trader(s) are not trader partitions, "
                            f"not retrained: {', '.join(unknown[:20])}")
    requests = [dg.RunRequest(partition_key=row.trader_id, run_key=row.run_key,
                              tags={PARTITION_TAG: row.trader_id,
                                    "risk/retrain_reason": row.retrain_reason,
                                    "risk/retrain_detail": str(row.retrain_detail)[:250],
                                    "risk/drift_report_date": keys[-1]})
                for row in flagged.itertuples() if row.trader_id in registered]
    return dg.SensorResult(run_requests=requests, cursor=keys[-1])


def build_morning_scoring_sensor(scoring_partitions: dg.PartitionsDefinition
                                 ) -> dg.SensorDefinition:
    """After each successful morning_job run: score_date_job for its session, if the session is
    one of ``scoring_partitions`` (the sessions meant to be scored)."""

    @dg.run_status_sensor(
        name="morning_scoring_sensor", run_status=dg.DagsterRunStatus.SUCCESS,
        default_status=dg.DefaultSensorStatus.RUNNING,  # harmless: acts only after a morning run
        monitored_jobs=[morning_job], request_job=score_date_job,
        description="When morning_job succeeds for a session: score every trader and publish the "
        "recommendations for that session (score_date_job), if it is on or after the scoring "
        "start (RISK_SCORING_START).")
    def morning_scoring_sensor(context: dg.RunStatusSensorContext):
        key = context.dagster_run.tags.get(PARTITION_TAG)
        if key is None:
            return dg.SkipReason("the morning run had no session (partition) tag")
        if not scoring_partitions.has_partition_key(key):
            return dg.SkipReason(f"{key} is before the scoring start, or outside the partitions")
        return dg.RunRequest(run_key=f"scoring:{key}:{context.dagster_run.run_id}",
                             partition_key=key,
                             tags={"risk/reason": f"after morning run {context.dagster_run.run_id}"})

    return morning_scoring_sensor
