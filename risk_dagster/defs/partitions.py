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


def build_date_partitions(settings: Settings) -> dg.TimeWindowPartitionsDefinition:
    """One partition per trading day (weekdays for an exchange, every day for 24/7).

    Exchange holidays fall on weekdays and remain partitions; they materialize as closed
    sessions with no rows. With the simulated firm the partitions stop at its last day.
    """
    end = None
    if settings.source == "simulator":
        end = (settings.sim_end_date + dt.timedelta(days=1)).strftime(DATE_FORMAT)
    return dg.TimeWindowPartitionsDefinition(
        start=settings.start_date.strftime(DATE_FORMAT),
        end=end,
        cron_schedule=partition_cron(settings.calendar),
        fmt=DATE_FORMAT,
        timezone="UTC",
    )


trader_partitions = dg.DynamicPartitionsDefinition(name=TRADER_PARTITIONS_NAME)
single_run = dg.BackfillPolicy.single_run()


def partition_dates(context) -> list[dt.date]:
    """The dates of the run's date partitions (one, or a range in a single-run backfill)."""
    return [dt.date.fromisoformat(k) for k in context.partition_keys]
