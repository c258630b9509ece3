import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from risk_dagster.definitions import defs
from risk_dagster.defs.partitions import TRADER_PARTITIONS_NAME
from risk_dagster.defs.schedules import latest_complete_session, weekly_training_schedule
from risk_dagster.defs.partitions import RANGE_END_TAG, RANGE_START_TAG

NY = ZoneInfo("America/New_York")
daily_scoring_schedule = defs.get_schedule_def("daily_scoring_schedule")
labels_refresh_schedule = defs.get_schedule_def("labels_refresh_schedule")


def _eval(schedule, when, instance):
    ctx = dg.build_schedule_context(instance=instance, scheduled_execution_time=when,
                                    repository_def=defs.get_repository_def())
    return schedule.evaluate_tick(ctx)


def test_latest_complete_session_skips_weekends_and_holidays():
    at = lambda d: dt.datetime.combine(d, dt.time(7, 30), NY)  # noqa: E731
    assert latest_complete_session("XNYS", at(dt.date(2024, 12, 26))) == dt.date(2024, 12, 24)
    assert latest_complete_session("XNYS", at(dt.date(2024, 12, 25))) is None  # Christmas
    assert latest_complete_session("XNYS", at(dt.date(2024, 12, 28))) is None  # Saturday
    assert latest_complete_session("XNYS", at(dt.date(2025, 1, 6))) == dt.date(2025, 1, 3)
    assert latest_complete_session("24/7", dt.datetime(2025, 1, 5, 0, 30, tzinfo=dt.UTC)) == \
        dt.date(2025, 1, 4)


def test_daily_schedules_request_the_morning_and_a_label_refresh():
    with dg.instance_for_test() as instance:
        when = dt.datetime(2024, 3, 5, 7, 30, tzinfo=NY)
        (morning,) = _eval(daily_scoring_schedule, when, instance).run_requests
        assert morning.partition_key == "2024-03-04"
        (labels,) = _eval(labels_refresh_schedule, when, instance).run_requests
        assert labels.tags[RANGE_END_TAG] == "2024-03-04"
        assert labels.tags[RANGE_START_TAG] == "2024-02-15"  # 12 sessions back
        holiday = _eval(daily_scoring_schedule, dt.datetime(2024, 7, 4, 7, 30, tzinfo=NY), instance)
        assert not holiday.run_requests and holiday.skip_message


def test_weekly_schedule_covers_every_trader_in_one_run():
    with dg.instance_for_test() as instance:
        sunday = dt.datetime(2025, 3, 2, 18, 0, tzinfo=NY)
        assert _eval(weekly_training_schedule, sunday, instance).skip_message
        instance.add_dynamic_partitions(TRADER_PARTITIONS_NAME, ["T0001", "T0002", "T0003"])
        (request,) = _eval(weekly_training_schedule, sunday, instance).run_requests
        assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == ("T0001", "T0003")
        assert request.run_key == "weekly-training:2025-W09"


def test_schedules_are_in_the_definitions():
    names = {s.name for s in defs.get_repository_def().schedule_defs}
    assert names == {"daily_scoring_schedule", "labels_refresh_schedule", "weekly_training_schedule"}
