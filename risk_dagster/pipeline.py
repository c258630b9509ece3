"""Runs the pipeline's jobs on a Dagster instance, as single runs over ranges of partitions.

Used by the CLI (`risk-dagster demo`) and the benches; runs land in the instance's history, so
they are visible in the UI afterwards.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from risk_dagster.core.settings import Settings
from risk_dagster.defs.partitions import RANGE_END_TAG, RANGE_START_TAG, TRADER_PARTITIONS_NAME
from risk_dagster.instance import prepare_dagster_home  # noqa: F401 - its callers import it here


@dataclass
class StageResult:
    job: str
    partitions: str
    seconds: float
    success: bool
    run_id: str
    materializations: int
    failed_checks: list[str] = field(default_factory=list)


def run_job(defs: dg.Definitions, instance: dg.DagsterInstance, job_name: str, *,
            first: str | None = None, last: str | None = None,
            log_level: str = Settings.log_level) -> StageResult:
    """Execute ``job_name`` in process; with ``first``/``last``, as one run over that range.
    ``log_level``: the console's (every event is still in the run's log in the UI)."""
    tags = {RANGE_START_TAG: first, RANGE_END_TAG: last} if first is not None else {}
    started = time.perf_counter()
    result = defs.resolve_job_def(job_name).execute_in_process(
        instance=instance, tags=tags, raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}})
    failed_checks = [f"{ev.asset_key.to_user_string()}:{ev.check_name}"
                     for ev in result.get_asset_check_evaluations() if not ev.passed]
    return StageResult(job_name, f"{first}..{last}" if first else "-",
                       time.perf_counter() - started, result.success, result.run_id,
                       len(result.get_asset_materialization_events()), failed_checks)


def date_range_keys(defs: dg.Definitions, first: str | None = None,
                    last: str | None = None) -> tuple[str, str]:
    """First and last date partition of ``defs`` between ``first`` and ``last`` (inclusive)."""
    keys = defs.resolve_job_def("daily_pipeline_job").partitions_def.get_partition_keys()
    keys = [k for k in keys if (first is None or k >= first) and (last is None or k <= last)]
    if not keys:
        raise ValueError(f"no date partitions between {first} and {last}")
    return keys[0], keys[-1]


def _print_stage(stage: StageResult) -> None:
    status = "ok" if stage.success else "FAILED"
    print(f"  {stage.job:<24} {stage.partitions:<24} {stage.seconds:7.1f} s  {status}  "
          f"({stage.materializations} materializations, run {stage.run_id[:8]})", flush=True)
    for check in stage.failed_checks:
        print(f"    check failed: {check}")


def run_pipeline(settings: Settings, defs: dg.Definitions, instance: dg.DagsterInstance,
                 first: str, last: str, *, monitoring: bool = False) -> int:
    """Every stage over ``first``..``last``, each as one run: the date-partitioned pipeline,
    training of every trader, then the morning after ``last`` (scores, recommendations) and,
    with ``monitoring``, the drift report of every date of the range (one run; a date it cannot
    judge is recorded as skipped with its reason)."""
    stages = [run_job(defs, instance, "daily_pipeline_job", first=first, last=last,
                      log_level=settings.log_level)]
    _print_stage(stages[-1])
    if stages[-1].success:
        traders = instance.get_dynamic_partitions(TRADER_PARTITIONS_NAME)
        stages.append(run_job(defs, instance, "weekly_training_job", first=traders[0],
                              last=traders[-1], log_level=settings.log_level))
        _print_stage(stages[-1])
    if stages[-1].success:  # the morning after the last session
        stages.append(run_job(defs, instance, "score_date_job", first=last, last=last,
                              log_level=settings.log_level))
        _print_stage(stages[-1])
    if monitoring and stages[-1].success:
        stages.append(run_job(defs, instance, "monitoring_job", first=first, last=last,
                              log_level=settings.log_level))
        _print_stage(stages[-1])
    if not all(s.success for s in stages):
        print("A stage failed; see the run in the UI (risk-dagster dev) for the error.")
        return 1
    live = sorted((settings.data_dir / "live").glob("20*"))
    if live:
        print(f"Recommendations: {live[-1] / 'recommendations.csv'}\n"
              f"Report:          {live[-1] / 'report.html'}")
    print(f"Model evaluation: {settings.data_dir / 'reports' / 'model_evaluation'}\n"
          f"Outputs: {settings.data_dir} (Parquet lake, models/, reports/, live/)\n"
          f"Run history: {os.environ['DAGSTER_HOME']} (open it with `risk-dagster dev`)")
    return 0


def run_demo(settings: Settings, defs: dg.Definitions, instance: dg.DagsterInstance) -> int:
    """The whole pipeline on the simulated firm."""
    first, last = date_range_keys(defs)
    print(f"Simulated firm: {settings.sim_traders} traders, seed {settings.sim_seed}, "
          f"{first}..{last}, calendar {settings.calendar}\nData directory: {settings.data_dir}",
          flush=True)
    return run_pipeline(settings, defs, instance, first, last)


def ingest_files(settings: Settings, defs: dg.Definitions, instance: dg.DagsterInstance,
                 files: list[Path], source: str, *, pipeline: bool = True,
                 account: str | None = None, replace: bool = False,
                 skip_bad_rows: int = 0) -> int:
    """Land the files (see ``ingest.batch.land_files``); then run the pipeline over the dates
    they cover (or, with ``pipeline=False``, only ingest them), each stage as one run.
    Returns 2 when the batch was refused (nothing landed), 1 when a file was rejected or a stage
    failed, else 0."""
    from risk_dagster.ingest.batch import land_files

    outcome = land_files(settings.data_dir, files, source, calendar=settings.calendar,
                         account=account, replace=replace, skip_bad_rows=skip_bad_rows,
                         first_date=settings.start_date)
    if outcome.refused:
        return 2
    failures = len(outcome.rejected)
    if outcome.dates:
        first, last = date_range_keys(defs, min(outcome.dates), max(outcome.dates))
        if pipeline:
            failures += run_pipeline(settings, defs, instance, first, last, monitoring=True)
        else:
            stage = run_job(defs, instance, "ingest_job", first=first, last=last,
                            log_level=settings.log_level)
            _print_stage(stage)
            failures += 0 if stage.success else 1
            print(f"Outputs: {settings.data_dir}")
    return 1 if failures else 0
