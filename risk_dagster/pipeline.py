"""Runs the pipeline's jobs on a Dagster instance, as single runs over ranges of partitions.

Used by the CLI (`risk-dagster demo`) and the benches; runs land in the instance's history, so
they are visible in the UI afterwards.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from risk_dagster.core import progress as core_progress
from risk_dagster.core.settings import Settings
from risk_dagster.defs.partitions import RANGE_END_TAG, RANGE_START_TAG, TRADER_PARTITIONS_NAME
from risk_dagster.instance import prepare_dagster_home  # noqa: F401 - its callers import it here
from risk_dagster.reporting.progress import ProgressDisplay


@dataclass
class StageResult:
    job: str
    partitions: str
    seconds: float
    success: bool
    run_id: str
    materializations: int
    failed_checks: list[str] = field(default_factory=list)


def _step_listener(display: ProgressDisplay, job_name: str, n_steps: int):
    """A Dagster event listener showing ``job_name``'s steps done / total, the step running
    and the partitions materialized so far."""
    state = {"done": 0, "step": "", "materialized": 0}
    finished = (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE,
                dg.DagsterEventType.STEP_SKIPPED)

    def on_event(entry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        if event.event_type == dg.DagsterEventType.STEP_START:
            state["step"] = event.step_key or ""
        elif event.event_type in finished:
            state["done"] += 1
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            state["materialized"] += 1
        else:
            return
        display.update(job_name, state["done"], n_steps, "steps",
                       note=f"{state['step']}, {state['materialized']} partitions materialized")
    return on_event


def run_job(defs: dg.Definitions, instance: dg.DagsterInstance, job_name: str, *,
            first: str | None = None, last: str | None = None,
            log_level: str = Settings.log_level,
            display: ProgressDisplay | None = None) -> StageResult:
    """Execute ``job_name`` in process; with ``first``/``last``, as one run over that range.
    ``log_level``: the console's (every event is still in the run's log in the UI).
    ``display``: shows the run's steps and the loops inside them as they progress."""
    tags = {RANGE_START_TAG: first, RANGE_END_TAG: last} if first is not None else {}
    started = time.perf_counter()
    job = defs.resolve_job_def(job_name)
    run_id = str(uuid.uuid4())  # known before the run starts, to listen to its events
    display = display or ProgressDisplay(quiet=True)
    instance.add_event_listener(run_id, _step_listener(display, job_name, len(job.graph.nodes)))
    with core_progress.listening(display.update):
        result = job.execute_in_process(
            instance=instance, tags=tags, raise_on_error=False, run_id=run_id,
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


def _print_stage(stage: StageResult, display: ProgressDisplay | None = None) -> None:
    """The stage's outcome; failures are printed even when the display is quiet."""
    status = "ok" if stage.success else "FAILED"
    line = (f"  {stage.job:<24} {stage.partitions:<24} {stage.seconds:7.1f} s  {status}  "
            f"({stage.materializations} materializations, run {stage.run_id[:8]})")
    lines = [line] + [f"    check failed: {check}" for check in stage.failed_checks]
    for text in lines:
        if display is not None and display.quiet and stage.success and not stage.failed_checks:
            continue
        print(text, flush=True)


def run_pipeline(settings: Settings, defs: dg.Definitions, instance: dg.DagsterInstance,
                 first: str, last: str, display: ProgressDisplay | None = None, *,
                 monitoring: bool = False) -> int:
    """Every stage over ``first``..``last``, each as one run: the date-partitioned pipeline,
    training of every trader, then the morning after ``last`` (scores, recommendations) and,
    with ``monitoring``, the drift report of every date of the range (one run; a date it cannot
    judge is recorded as skipped with its reason). ``display``: per-stage progress (steps,
    dates, elapsed, ETA); None shows nothing."""
    display = display or ProgressDisplay(quiet=True)
    dates_def = defs.resolve_job_def("daily_pipeline_job").partitions_def
    n_dates = len(dates_def.get_partition_keys_in_range(dg.PartitionKeyRange(first, last)))
    plan = ["daily_pipeline_job", "weekly_training_job", "score_date_job"]
    plan += ["monitoring_job"] if monitoring else []
    started = time.perf_counter()

    def stage(i: int, job: str, lo: str, hi: str, what: str) -> StageResult:
        display.print(f"[{i}/{len(plan)}] {job}: {what} "
                      f"({_seconds_text(time.perf_counter() - started)} since start)")
        result = run_job(defs, instance, job, first=lo, last=hi,
                         log_level=settings.log_level, display=display)
        _print_stage(result, display)
        return result

    stages = [stage(1, plan[0], first, last, f"{n_dates} dates, {first}..{last}")]
    if stages[-1].success:
        traders = instance.get_dynamic_partitions(TRADER_PARTITIONS_NAME)
        stages.append(stage(2, plan[1], traders[0], traders[-1], f"{len(traders)} traders"))
    if stages[-1].success:  # the morning after the last session
        stages.append(stage(3, plan[2], last, last, f"the morning after {last}"))
    if monitoring and stages[-1].success:
        stages.append(stage(4, plan[3], first, last, f"drift over {n_dates} dates"))
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


def _seconds_text(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def run_demo(settings: Settings, defs: dg.Definitions, instance: dg.DagsterInstance,
             display: ProgressDisplay | None = None) -> int:
    """The whole pipeline on the simulated firm (``display``: progress, see run_pipeline)."""
    first, last = date_range_keys(defs)
    print(f"Simulated firm: {settings.sim_traders} traders, seed {settings.sim_seed}, "
          f"{first}..{last}, calendar {settings.calendar}\nData directory: {settings.data_dir}",
          flush=True)
    return run_pipeline(settings, defs, instance, first, last, display)


def ingest_files(settings: Settings, defs: dg.Definitions, instance: dg.DagsterInstance,
                 files: list[Path], source: str, *, pipeline: bool = True,
                 account: str | None = None, replace: bool = False,
                 skip_bad_rows: int = 0, display: ProgressDisplay | None = None) -> int:
    """Land the files (see ``ingest.batch.land_files``); then run the pipeline over the dates
    they cover (or, with ``pipeline=False``, only ingest them), each stage as one run.
    Returns 2 when the batch was refused (nothing landed), 1 when a file was rejected or a stage
    failed, else 0. ``display``: each stage's progress."""
    from risk_dagster.ingest.batch import land_files

    display = display or ProgressDisplay(quiet=True)

    outcome = land_files(settings.data_dir, files, source, calendar=settings.calendar,
                         account=account, replace=replace, skip_bad_rows=skip_bad_rows,
                         first_date=settings.start_date, contracts=settings.contracts_file)
    if outcome.refused:
        return 2
    failures = len(outcome.rejected)
    if outcome.dates:
        first, last = date_range_keys(defs, min(outcome.dates), max(outcome.dates))
        if pipeline:
            failures += run_pipeline(settings, defs, instance, first, last, display,
                                     monitoring=True)
        else:
            stage = run_job(defs, instance, "ingest_job", first=first, last=last,
                            log_level=settings.log_level, display=display)
            _print_stage(stage, display)
            failures += 0 if stage.success else 1
            print(f"Outputs: {settings.data_dir}")
    return 1 if failures else 0
