"""Sensors."""


import dagster as dg

from risk_dagster.defs.jobs import inbox_ingest_job, ingest_job
from risk_dagster.defs.partitions import date_partitions
from risk_dagster.defs.resources import LakeResource, TradeSource
from risk_dagster.ingest.inbox import landing_changes, pending_files


@dg.sensor(jobs=[inbox_ingest_job, ingest_job], minimum_interval_seconds=30,
           description="Launches inbox_ingest_job for each new file in <data>/inbox/<source>/, "
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
