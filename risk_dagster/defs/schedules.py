"""Schedules, on the exchange's clock."""

import dagster as dg

from risk_dagster.defs.jobs import weekly_training_job
from risk_dagster.defs.partitions import TRADER_PARTITIONS_NAME
from risk_dagster.pipeline import RANGE_END_TAG, RANGE_START_TAG


@dg.schedule(job=weekly_training_job, cron_schedule="0 18 * * 0",
             execution_timezone="America/New_York",
             description="Sunday 18:00 New York: retrain every trader in one run.")
def weekly_training_schedule(context: dg.ScheduleEvaluationContext):
    traders = context.instance.get_dynamic_partitions(TRADER_PARTITIONS_NAME)
    if not traders:
        return dg.SkipReason("no traders registered yet (materialize trader_registry first)")
    week = context.scheduled_execution_time.strftime("%G-W%V")
    return dg.RunRequest(run_key=f"weekly-training:{week}",
                         tags={RANGE_START_TAG: traders[0], RANGE_END_TAG: traders[-1],
                               "risk/reason": "weekly retraining"})
