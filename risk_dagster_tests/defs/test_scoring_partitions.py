"""Scores and recommendations have partitions only for the sessions meant to be scored (from the
go-live date on), and the morning run's success starts the scoring of its session."""

import datetime as dt

import dagster as dg
import pytest

from risk_dagster.core.settings import Settings, load_settings, to_environ
from risk_dagster.defs.build import build_defs
from risk_dagster.defs.partitions import build_date_partitions, build_scoring_partitions


def _keys(settings: Settings) -> list[str]:
    return build_scoring_partitions(settings, build_date_partitions(settings)).get_partition_keys()


def test_the_simulated_firm_expects_scores_for_its_last_session_only():
    assert _keys(Settings()) == ["2025-12-31"]
    assert _keys(Settings(sim_end_date=dt.date(2025, 6, 7))) == ["2025-06-06"]  # a Saturday


def test_landed_exports_expect_every_session_unless_a_go_live_date_is_set():
    landed = Settings(source="landing")
    assert build_scoring_partitions(landed, build_date_partitions(landed)) == \
        build_date_partitions(landed)
    keys = _keys(Settings(source="landing", scoring_start_date=dt.date(2025, 6, 2)))
    assert keys[:3] == ["2025-06-02", "2025-06-03", "2025-06-04"]
    assert _keys(Settings(scoring_start_date=dt.date(2025, 12, 29))) == \
        ["2025-12-29", "2025-12-30", "2025-12-31"]


def test_a_scoring_start_before_the_first_partition_is_refused():
    with pytest.raises(ValueError, match="2023-12-01 is before the first date partition 2024-01-02"):
        _keys(Settings(scoring_start_date=dt.date(2023, 12, 1)))


def test_the_go_live_date_is_read_from_the_environment_and_handed_on():
    settings = load_settings({"RISK_SCORING_START": "2025-03-03"})
    assert settings.scoring_start_date == dt.date(2025, 3, 3)
    assert to_environ(settings)["RISK_SCORING_START"] == "2025-03-03"
    assert "RISK_SCORING_START" not in to_environ(Settings())


def test_scores_and_recommendations_use_the_scoring_partitions_and_the_rest_every_date():
    defs = build_defs(Settings(scoring_start_date=dt.date(2025, 12, 1)))
    for name in ("risk_scores", "trade_recommendations"):
        assert defs.resolve_assets_def(name).partitions_def.get_first_partition_key() == \
            "2025-12-01"
    for name in ("trader_features", "drift_report", "raw_fills"):
        assert defs.resolve_assets_def(name).partitions_def.get_first_partition_key() == \
            "2024-01-02"
    morning = defs.resolve_job_def("morning_job")
    assert "risk_scores" not in {k.to_user_string() for k in morning.asset_layer.executable_asset_keys}


@dg.op
def _noop() -> None:
    pass


@dg.job
def _morning_stand_in():
    _noop()


def _sensor_output(defs: dg.Definitions, tags: dict):
    with dg.DagsterInstance.ephemeral() as instance:
        result = _morning_stand_in.execute_in_process(instance=instance, tags=tags)
        ctx = dg.build_run_status_sensor_context(
            sensor_name="morning_scoring_sensor", dagster_event=result.get_run_success_event(),
            dagster_instance=instance, dagster_run=result.dagster_run)
        return defs.resolve_sensor_def("morning_scoring_sensor")(ctx), result.run_id


def test_a_successful_morning_run_requests_the_scoring_of_its_session():
    defs = build_defs(Settings(scoring_start_date=dt.date(2025, 12, 1)))
    sensor = defs.resolve_sensor_def("morning_scoring_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    request, run_id = _sensor_output(defs, {"dagster/partition": "2025-12-30"})
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == "2025-12-30"
    assert request.run_key == f"scoring:2025-12-30:{run_id}"
    before, _ = _sensor_output(defs, {"dagster/partition": "2025-11-28"})
    assert isinstance(before, dg.SkipReason) and "2025-11-28 is before the scoring start" in \
        before.skip_message
    untagged, _ = _sensor_output(defs, {})
    assert isinstance(untagged, dg.SkipReason)


def test_a_simulated_firm_ending_on_a_friday_keeps_its_friday():
    friday = Settings(sim_end_date=dt.date(2025, 6, 6))
    assert build_date_partitions(friday).get_last_partition_key() == "2025-06-06"
    assert build_date_partitions(Settings(sim_end_date=dt.date(2025, 6, 4))
                                 ).get_last_partition_key() == "2025-06-04"
