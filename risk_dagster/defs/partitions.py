"""Partitions shared by every asset, and the run tags that make one run cover a range of them.

The date partitions follow the settings, so they are built by ``build_date_partitions`` where the
definitions are (``definitions.build_defs``), never at import.

Date-partitioned assets hold all traders of one session; trader-partitioned assets hold all dates
of one trader. Never both at once: 500 traders x 3 years of sessions would be ~378,000
partitions, past what Dagster's UI and backfills handle (keep every asset <= 100,000).
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from risk_dagster.core.calendar import partition_cron
from risk_dagster.core.settings import Settings

TRADER_PARTITIONS_NAME = "trader"
DATE_FORMAT = "%Y-%m-%d"
# Run tags that make one run cover a range of partitions (a single-run backfill).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
# The run tag of a run's one partition. A RunRequest that already carries it is taken as
# resolved by Dagster's sensor evaluation, which otherwise checks each request's dynamic
# partition with its own instance query (5,000 of them would pass the 60 s tick limit).
PARTITION_TAG = "dagster/partition"


def build_date_partitions(settings: Settings) -> dg.TimeWindowPartitionsDefinition:
    """One partition per trading day (weekdays for an exchange, every day for 24/7).

    Exchange holidays fall on weekdays and remain partitions; they materialize as closed
    sessions with no rows. With the simulated firm the partitions stop at its last day.
    """
    end = None
    if settings.source == "simulator":
        # The end is the start of the window after the last day's: a weekday window runs to the
        # next weekday, so a firm ending on a Friday keeps its Friday.
        end_day = settings.sim_end_date + dt.timedelta(days=1)
        while not settings.is_24_7 and end_day.weekday() >= 5:
            end_day += dt.timedelta(days=1)
        end = end_day.strftime(DATE_FORMAT)
    return dg.TimeWindowPartitionsDefinition(
        start=settings.start_date.strftime(DATE_FORMAT),
        end=end,
        cron_schedule=partition_cron(settings.calendar),
        fmt=DATE_FORMAT,
        timezone="UTC",
    )


def build_scoring_partitions(settings: Settings,
                             date_partitions: dg.TimeWindowPartitionsDefinition
                             ) -> dg.TimeWindowPartitionsDefinition:
    """The sessions the desk expects scores and recommendations for: ``date_partitions`` from
    ``settings.scoring_start_date`` on (the go-live date). Unset: the simulated firm's last
    session (the one the demo scores), or every date partition for landed exports."""
    start = settings.scoring_start_date
    if start is None:
        if settings.source != "simulator":
            return date_partitions
        start = dt.date.fromisoformat(date_partitions.get_last_partition_key())
    if start < settings.start_date:
        raise ValueError(f"the scoring start {start} is before the first date partition "
                         f"{settings.start_date} (RISK_SCORING_START, RISK_START_DATE)")
    return dg.TimeWindowPartitionsDefinition(
        start=start.strftime(DATE_FORMAT),
        end=date_partitions.end.strftime(DATE_FORMAT) if date_partitions.end else None,
        cron_schedule=date_partitions.cron_schedule, fmt=DATE_FORMAT, timezone="UTC")


trader_partitions = dg.DynamicPartitionsDefinition(name=TRADER_PARTITIONS_NAME)
single_run = dg.BackfillPolicy.single_run()


def partition_dates(context) -> list[dt.date]:
    """The dates of the run's date partitions (one, or a range in a single-run backfill)."""
    return [dt.date.fromisoformat(k) for k in context.partition_keys]
