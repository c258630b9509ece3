"""Schedules, on the exchange's clock."""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from risk_dagster.core.calendar import (
    calendar_timezone,
    is_session,
    previous_session,
    sessions,
)
from risk_dagster.core.settings import CALENDAR_24_7
from risk_dagster.defs.jobs import labels_job, morning_job, weekly_training_job
from risk_dagster.defs.partitions import RANGE_END_TAG, RANGE_START_TAG, TRADER_PARTITIONS_NAME
from risk_dagster.labels import LABEL_REFRESH_SESSIONS


def morning_cron(calendar: str) -> str:
    """07:30 exchange time on weekdays (holidays are skipped by the schedule); every day at
    00:30 UTC for a 24/7 venue."""
    return "30 0 * * *" if calendar == CALENDAR_24_7 else "30 7 * * 1-5"


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


def latest_complete_session(calendar: str, now: dt.datetime) -> dt.date | None:
    """The last session before ``now``'s date in the calendar's timezone, if ``now``'s date is
    itself a session (exchange holidays and weekends get no morning run)."""
    today = now.astimezone(ZoneInfo(calendar_timezone(calendar))).date()
    if not is_session(calendar, today):
        return None
    return previous_session(calendar, today)


def build_schedules(calendar: str, date_partitions: dg.PartitionsDefinition) -> list:
    """The morning schedules on ``calendar``'s clock, requesting keys of ``date_partitions``."""

    def morning(context) -> tuple[str | None, str | None]:
        """(partition key, skip reason) of this morning's run."""
        day = latest_complete_session(calendar, context.scheduled_execution_time)
        if day is None:
            return None, "not a session of the calendar (weekend or holiday)"
        key = day.isoformat()
        if key not in date_partitions.get_partition_keys(dynamic_partitions_store=context.instance):
            return None, f"{key} is outside the date partitions"
        return key, None

    @dg.schedule(job=morning_job, cron_schedule=morning_cron(calendar),
                 execution_timezone=calendar_timezone(calendar),
                 description="Before the open on every session of the exchange calendar: the "
                 "latest complete session ingested, its features and drift (morning_job); its "
                 "success starts the scoring and publishing (morning_scoring_sensor).")
    def daily_scoring_schedule(context: dg.ScheduleEvaluationContext):
        key, skip = morning(context)
        return dg.SkipReason(skip) if skip else dg.RunRequest(run_key=f"morning:{key}",
                                                              partition_key=key)

    @dg.schedule(job=labels_job, cron_schedule=morning_cron(calendar),
                 execution_timezone=calendar_timezone(calendar),
                 description="With the morning run: labels of the last sessions, which change "
                 "from 'pending' once a later session is known (one run over the range).")
    def labels_refresh_schedule(context: dg.ScheduleEvaluationContext):
        key, skip = morning(context)
        if skip:
            return dg.SkipReason(skip)
        day = dt.date.fromisoformat(key)
        since = sessions(calendar, day - dt.timedelta(days=30), day)[-LABEL_REFRESH_SESSIONS]
        return dg.RunRequest(run_key=f"labels:{key}", tags={
            RANGE_START_TAG: since.date().isoformat(), RANGE_END_TAG: key})

    return [daily_scoring_schedule, labels_refresh_schedule, weekly_training_schedule]
