"""Replays the firm through time, morning by morning, as production would run it.

The replay stands in for the Dagster daemon's clock: for each tick of the morning schedule's cron
it evaluates the schedules and the drift sensor with their own code (``evaluate_tick``) and
executes the runs they request, in process, on the instance (so every run is in the UI's
history). A Dagster run cannot itself wait on other runs without a daemon, so this loop lives
here (beside ``pipeline.py``) and ``replay_job`` materializes the report at the end.

Per tick (07:30 exchange time on weekdays):
1. the weekly training schedule's ticks since the previous morning (Sunday 18:00 New York) ->
   ``weekly_training_job`` over every trader;
2. ``daily_scoring_schedule`` -> ``morning_job`` for the latest complete session (that day's data
   arrives: the simulated day, or the landed files of that date; features, labels, drift), or a
   skip with its reason (an exchange holiday); its success -> ``morning_scoring_sensor`` ->
   ``score_date_job`` for that session (scores, recommendations);
3. ``labels_refresh_schedule`` -> ``labels_job`` (yesterday's labels complete);
4. ``drift_retrain_sensor`` -> ``retrain_trader_job`` per flagged trader.
Run keys already launched are not launched again (the daemon's de-duplication). Models are
trained only on what the lake holds at that moment, i.e. data up to the latest ingested session.
The runs share one process, so lake files are parsed once while they stay unchanged
(``core.lake.partition_cache``): each morning reads the whole history of the features, panel and
labels, of which only the newest partitions changed since the morning before. The trainings'
local worker processes are kept from run to run too (``models.compute.kept_local_pools``), with
a partition cache of their own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
from croniter import croniter

from risk_dagster.core import progress as core_progress
from risk_dagster.core.calendar import previous_session, sessions
from risk_dagster.core.lake import partition_cache
from risk_dagster.core.settings import Settings
from risk_dagster.defs.partitions import (PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG,
                                         TRADER_PARTITIONS_NAME)
from risk_dagster.models.compute import kept_local_pools
from risk_dagster.models.fleet import MODELS_DIR
from risk_dagster.replay.progress import ReplayProgress

MORNING_SCHEDULE = "daily_scoring_schedule"
LABELS_SCHEDULE = "labels_refresh_schedule"
WEEKLY_SCHEDULE = "weekly_training_schedule"
RETRAIN_SENSOR = "drift_retrain_sensor"
SCORING_SENSOR = "morning_scoring_sensor"
REPLAY_TAG = "risk/replay"
PROGRESS_TASK = "replay"  # the progress display's task: mornings done / total
CACHE_BYTES = 1 << 30  # lake files kept parsed in memory across the replay's runs
WORKER_CACHE_BYTES = 1 << 29  # the same in each kept training worker (features and labels)


def _execute(defs: dg.Definitions, instance: dg.DagsterInstance, job_name: str, *,
             partition_key: str | None = None, tags: dict | None = None,
             level: str = Settings.log_level) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def(job_name).execute_in_process(
        instance=instance, partition_key=partition_key,
        tags={REPLAY_TAG: "1", **(tags or {})}, raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": level}}}})


def _ticks(cron: str, tz: str, after: dt.datetime, until: dt.datetime) -> list[dt.datetime]:
    """Cron ticks in (after, until], in the schedule's timezone."""
    it = croniter(cron, after.astimezone(ZoneInfo(tz)))
    out = []
    while (t := it.get_next(dt.datetime)) <= until:
        out.append(t)
    return out


def _model_versions(models_root: Path) -> dict[str, dict]:
    """Every stored model version: relative path -> its training window and identity."""
    out = {}
    for meta_path in sorted(models_root.glob("*/*/*/meta.json")):
        meta = json.loads(meta_path.read_text())
        window = meta.get("training_window") or {}
        out[str(meta_path.parent.relative_to(models_root))] = {
            "owner": meta.get("owner"), "family": meta.get("family"),
            "version": meta.get("version"), "last_label_date": window.get("last_label_date"),
            "last_trade_date": window.get("last_trade_date"), "tuning": _tuning_note(meta)}
    return out


def _tuning_note(meta: dict) -> str:
    """How a LightGBM model got its hyper-parameters: its own studies, or refitted with those
    tuned earlier (``retune_sessions``); empty for the baselines."""
    records = meta.get("tuning") or []
    if not records:
        return ""
    reused = [r for r in records if r.get("reused")]
    if not reused:
        return f"tuned ({len(records)} studies)"
    dates = sorted(r["last_trade_date"] for r in reused)
    return (f"{len(reused)} of {len(records)} fits reused hyper-parameters tuned on data to "
            f"{dates[0]}..{dates[-1]}")


class Replay:
    """One replay of ``first``..``last`` (data sessions) on ``defs``'s resources and ``instance``.

    ``params`` identify the replay in the progress file (a resumed replay must match them);
    ``stop_after``: stop after this many completed mornings (tests of resuming).
    """

    def __init__(self, settings: Settings, defs: dg.Definitions, instance: dg.DagsterInstance,
                 first: dt.date, last: dt.date, params: dict,
                 log: Callable[[str], None] = print) -> None:
        self.settings, self.defs, self.instance = settings, defs, instance
        self.first, self.last, self.log = first, last, log
        self.data_dir = Path(settings.data_dir)
        self.progress = ReplayProgress.load(self.data_dir, params)
        self.models_root = self.data_dir / MODELS_DIR
        self.morning = defs.resolve_schedule_def(MORNING_SCHEDULE)
        self.labels = defs.resolve_schedule_def(LABELS_SCHEDULE)
        self.weekly = defs.resolve_schedule_def(WEEKLY_SCHEDULE)
        self.sensor = defs.resolve_sensor_def(RETRAIN_SENSOR)
        self.scoring = defs.resolve_sensor_def(SCORING_SENSOR)
        self.last_result: dg.ExecuteInProcessResult | None = None
        self.as_of: str | None = None  # the latest session whose data the lake holds

    # -- bookkeeping -------------------------------------------------------------------------
    def _event(self, kind: str, **fields) -> None:
        self.progress.events.append({"kind": kind, **fields})

    def _save(self) -> None:
        self.progress.save(self.data_dir)

    def _record_models(self, run_id: str, reason: str) -> None:
        known = {e["path"] for e in self.progress.events if e["kind"] == "model"}
        for path, meta in _model_versions(self.models_root).items():
            if path not in known:
                self._event("model", path=path, run_id=run_id, reason=reason, as_of=self.as_of,
                            **meta)

    def _run(self, job: str, reason: str, *, partition_key=None, tags=None,
             run_key: str | None = None) -> bool:
        if run_key is not None and run_key in self.progress.run_keys:
            return True  # the daemon launches a run key once
        started = time.perf_counter()
        result = _execute(self.defs, self.instance, job, partition_key=partition_key, tags=tags,
                          level=self.settings.log_level)
        self.last_result = result
        seconds = round(time.perf_counter() - started, 1)
        self._event("run", job=job, reason=reason, partition=partition_key, run_id=result.run_id,
                    success=result.success, seconds=seconds, as_of=self.as_of)
        if run_key is not None:
            self.progress.run_keys.append(run_key)
        self.log(f"  {job:<22} {partition_key or (tags or {}).get(RANGE_START_TAG, '-'):<12} "
                 f"{seconds:6.1f} s  {'ok' if result.success else 'FAILED'}  {reason}")
        if job in ("weekly_training_job", "retrain_trader_job"):
            self._record_models(result.run_id, reason)
        return result.success

    def _schedule_requests(self, schedule, when: dt.datetime):
        ctx = dg.build_schedule_context(instance=self.instance, scheduled_execution_time=when,
                                        repository_def=self.defs.get_repository_def())
        data = schedule.evaluate_tick(ctx)
        return list(data.run_requests or []), data.skip_message

    # -- steps -------------------------------------------------------------------------------
    def _setup(self) -> None:
        """History up to two sessions before ``first``, then the first training: the state of
        production when the replay starts (the morning of ``first`` then ingests the session
        before it, the first new day)."""
        self._history()
        self._initial_training()

    def _history(self) -> None:
        cal = self.settings.calendar
        history_last = previous_session(cal, previous_session(cal, self.first))
        self.as_of = history_last.isoformat()
        if not self.progress.history_done:
            self.log(f"history {self.settings.start_date}..{history_last}")
            ok = self._run("daily_pipeline_job", "history before the replay", tags={
                RANGE_START_TAG: self.settings.start_date.isoformat(),
                RANGE_END_TAG: history_last.isoformat()})
            if not ok:
                raise RuntimeError("the history before the replay failed; see the run in the UI")
            self.progress.history_done = True
            self._save()

    def _initial_training(self) -> None:
        if not self.progress.initial_training_done:
            traders = self.instance.get_dynamic_partitions(TRADER_PARTITIONS_NAME)
            ok = self._run("weekly_training_job", "initial training", tags={
                RANGE_START_TAG: traders[0], RANGE_END_TAG: traders[-1],
                "risk/reason": "initial training"})
            if not ok:
                raise RuntimeError("the initial training failed; see the run in the UI")
            self.progress.initial_training_done = True
            self._save()

    def _start_time(self) -> dt.datetime:
        """Just before the morning of ``first`` (its run advises ``first`` from the history's
        last close)."""
        tz = ZoneInfo(self.morning.execution_timezone or "UTC")
        return dt.datetime.combine(self.first - dt.timedelta(days=1), dt.time(23, 59), tz)

    def _final_morning(self) -> dt.date:
        """The morning that ingests ``last`` (the next session's): the last one replayed."""
        cal = self.settings.calendar
        return sessions(cal, self.last + dt.timedelta(days=1), self.last + dt.timedelta(days=20))[0].date()

    def _weekly(self, after: dt.datetime, until: dt.datetime) -> None:
        for tick in _ticks(self.weekly.cron_schedule, self.weekly.execution_timezone or "UTC",
                           after, until):
            requests, skip = self._schedule_requests(self.weekly, tick)
            if skip:
                self._event("skipped", job="weekly_training_job", at=tick.isoformat(), reason=skip)
            for request in requests:
                self._event("weekly_retrain", at=tick.isoformat(), as_of=self.as_of,
                            reason=request.tags.get("risk/reason", "weekly retraining"))
                self._run("weekly_training_job", f"weekly retraining ({tick:%a %Y-%m-%d %H:%M})",
                          tags=request.tags, run_key=request.run_key)

    def _sensor(self, day: str) -> None:
        # evaluate_tick does not pull the repository's resources (only calling the sensor
        # does): hand them over, as the daemon would
        with dg.build_sensor_context(instance=self.instance, cursor=self.progress.sensor_cursor,
                                     definitions=self.defs, resources=self.defs.resources,
                                     sensor_name=RETRAIN_SENSOR) as ctx:
            data = self.sensor.evaluate_tick(ctx)
        if data.cursor is not None:
            self.progress.sensor_cursor = data.cursor
        for request in data.run_requests or []:
            tags = request.tags
            self._event("drift_retrain", date=day, trader_id=request.partition_key,
                        reason=tags.get("risk/retrain_reason"),
                        detail=tags.get("risk/retrain_detail"), run_key=request.run_key)
            self._run("retrain_trader_job", f"drift retrain ({tags.get('risk/retrain_reason')})",
                      partition_key=request.partition_key, tags=tags, run_key=request.run_key)

    def _score(self) -> None:
        """morning_scoring_sensor on the morning run that just succeeded, and the scoring run it
        requests (the daemon does this when the run's success event is written)."""
        result = self.last_result
        ctx = dg.build_run_status_sensor_context(
            sensor_name=SCORING_SENSOR, dagster_event=result.get_run_success_event(),
            dagster_instance=self.instance, dagster_run=result.dagster_run,
            repository_def=self.defs.get_repository_def())
        out = self.scoring(ctx)
        if isinstance(out, dg.SkipReason):
            self._event("skipped", job="score_date_job",
                        date=result.dagster_run.tags.get(PARTITION_TAG), reason=out.skip_message)
            return
        self._run("score_date_job", "scores and recommendations", partition_key=out.partition_key,
                  tags=out.tags, run_key=out.run_key)

    def _alarms(self, day: str) -> None:
        from risk_dagster.core.lake import Lake

        lake = Lake(self.data_dir)
        if day not in lake.keys("drift_report", "date"):
            return
        report = lake.read_df("drift_report", "date", [day])
        flagged = report["drifted"].eq(True) | report["decayed"].eq(True)  # NaN: not checked
        for row in report[flagged].itertuples():
            self._event("alarm", date=day, trader_id=row.trader_id,
                        drift=str(row.drift_reason), decay=str(row.decay_reason),
                        retrain=bool(row.retrain))

    def run(self, stop_after: int | None = None) -> int:
        """Replay every morning up to the one after ``last``; returns the mornings done now."""
        with partition_cache(CACHE_BYTES), kept_local_pools(WORKER_CACHE_BYTES):
            return self._run_mornings(stop_after)

    def _run_mornings(self, stop_after: int | None) -> int:
        self._setup()
        mornings = [e["date"] for e in self.progress.events if e["kind"] == "morning"]
        if mornings:  # resumed: the lake holds data up to the last completed morning's session
            self.as_of = mornings[-1]
        tz = self.morning.execution_timezone or "UTC"
        start = dt.datetime.fromisoformat(self.progress.last_tick) if self.progress.last_tick \
            else self._start_time()
        until = dt.datetime.combine(self._final_morning(), dt.time(23, 59), ZoneInfo(tz))
        done = 0
        previous = start
        ticks = _ticks(self.morning.cron_schedule, tz, start, until)
        before = sum(1 for e in self.progress.events if e["kind"] == "morning"
                     or (e["kind"] == "skipped" and e.get("job") == "morning_job"))
        core_progress.report(PROGRESS_TASK, before, before + len(ticks), "mornings")
        for tick in ticks:
            requests, skip = self._schedule_requests(self.morning, tick)
            key = requests[0].partition_key if requests else None
            self._weekly(previous, tick)
            if skip or not requests:
                self._event("skipped", job="morning_job", at=tick.isoformat(), reason=skip)
                self.log(f"{tick:%Y-%m-%d %a}: skipped ({skip})")
            else:
                self.as_of = key
                self.log(f"{tick:%Y-%m-%d %a}: session {key}")
                ok = self._run("morning_job", "morning run", partition_key=key,
                               tags=requests[0].tags, run_key=requests[0].run_key)
                if ok:
                    self._score()
                self._event("morning", at=tick.isoformat(), date=key, success=ok)
                for req in self._schedule_requests(self.labels, tick)[0]:
                    self._run("labels_job", "labels refresh", tags=req.tags, run_key=req.run_key)
                self._alarms(key)
                self._sensor(key)
            self.progress.last_tick = tick.isoformat()
            self._save()  # atomically: a killed replay resumes after this morning
            previous = tick
            done += 1
            core_progress.report(PROGRESS_TASK, before + done, before + len(ticks), "mornings")
            if stop_after is not None and done >= stop_after:
                break
        return done


def replay_params(settings: Settings, first: dt.date, last: dt.date) -> dict:
    """What identifies a replay in its progress file."""
    params = {"from": first.isoformat(), "to": last.isoformat(), "source": settings.source,
              "start": settings.start_date.isoformat(), "calendar": settings.calendar}
    if settings.source == "simulator":
        params.update(traders=settings.sim_traders, seed=settings.sim_seed,
                      changes=list(settings.sim_changes))
    return params


def run_replay(settings: Settings, defs: dg.Definitions, instance: dg.DagsterInstance,
               first: dt.date, last: dt.date, *, stop_after: int | None = None,
               display=None) -> int:
    """Replay ``first``..``last`` (resuming a killed replay of the same parameters), then
    materialize the replay report; prints where it is and its headline figures.
    ``display``: a ``reporting.progress.ProgressDisplay`` for the mornings done / total,
    elapsed and ETA (quiet: no per-run lines either); None prints the per-run lines only."""
    if not settings.start_date < first <= last:
        raise ValueError(f"need start ({settings.start_date}) < --from ({first}) <= --to ({last})")
    scored_from = defs.resolve_job_def("score_date_job").partitions_def.start.date()
    first_close = previous_session(settings.calendar, first)  # the close that advises --from
    if scored_from > first_close:
        raise ValueError(f"the scoring partitions start at {scored_from}, after the close before "
                         f"--from ({first_close}): build the definitions with "
                         f"scoring_start_date={first_close}")
    quiet = display is not None and display.quiet
    replay = Replay(settings, defs, instance, first, last, replay_params(settings, first, last),
                    log=(lambda _: None) if quiet else print)
    if replay.progress.last_tick:
        print(f"resuming after the morning of {replay.progress.last_tick[:10]}", flush=True)
    elif replay.progress.history_done:
        print("resuming after the history" + (" and the first training"
              if replay.progress.initial_training_done else ""), flush=True)
    with core_progress.listening(display.update) if display else contextlib.nullcontext():
        replay.run(stop_after=stop_after)
    if stop_after is not None:
        return 0
    result = _execute(defs, instance, "replay_job", level=settings.log_level)
    if not result.success:
        print("replay_report failed; see the run in the UI (risk-dagster dev)")
        return 1
    meta = result.asset_materializations_for_node("replay_report")[0].metadata
    figures = {k: v.value for k, v in meta.items()
               if k.endswith(("_usd", "_rate", "_p", "retrains", "sessions", "traders"))}
    for key, value in figures.items():
        print(f"  {key:<34} {value:,.4g}" if isinstance(value, float) else f"  {key:<34} {value}")
    print(f"Replay report: {meta['report_html'].value}\n"
          f"               {meta['report_json'].value}\n"
          f"Run history: {os.environ.get('DAGSTER_HOME')} (open it with `risk-dagster dev`)")
    return 0
