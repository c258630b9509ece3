"""A short replay of a small simulated firm with an injected behaviour change, through the
schedules, the drift sensor and the retraining they request, as production runs them.

8 traders, history from 2024-01-02 to 2024-08-22; replayed sessions 2024-08-26..2024-09-05:
the mornings of 08-26 .. 08-30, (Labor Day, 09-02, skipped), 09-03 .. 09-06 (the morning of D
ingests and scores the session before D); one weekly retraining (Sunday 2024-09-01, data up to
08-29); two traders trading bigger from 2024-08-27. Killed after two mornings and resumed.

A twin firm — the same, plus a third trader changing from 2024-08-26, the first replayed
session — starts from the same history: its first training and the scores of 2024-08-23 (the
same day in both firms, ingested and scored by the twin's first morning) must be the very same
(changing later data changes no earlier model), while its simulated 2024-08-26 differs.

The instances keep every run's events in one SQLite file (Dagster's consolidated storage, in
memory when /dev/shm has room): the default opens a new database per run, about half a second of
schema set-up each for the ~40 runs here; what the replay asks of the instance is the same.
"""

import contextlib
import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from risk_dagster.core.lake import Lake
from risk_dagster.core.settings import Settings
from risk_dagster.defs.build import build_defs
from risk_dagster.defs.compute import LocalPoolCompute
from risk_dagster.defs.resources import ModelSettings
from risk_dagster.replay.progress import ReplayProgress
from risk_dagster.core import progress as core_progress
from risk_dagster.replay_runner import Replay, replay_params, run_replay

START, FIRST, LAST = dt.date(2024, 1, 2), dt.date(2024, 8, 26), dt.date(2024, 9, 5)
CHANGE = dt.date(2024, 8, 27)
AFFECTED = ("T0002", "T0005")
LATER = "2024-08-26:trader_behaviour:T0007"  # the twin's extra change


def _instance(tmp_path_factory):
    """A test instance whose SQLite files are in memory (/dev/shm) when there is room: each
    event is a commit, and a commit waits for the disk (6.2 s of a morning's 12.7 s of runs with
    the disk shared with other jobs)."""
    shm = Path("/dev/shm")
    room = shm.is_dir() and shutil.disk_usage(shm).free > 1 << 30
    home = Path(tempfile.mkdtemp(prefix="replay_instance_", dir=shm)) if room \
        else tmp_path_factory.mktemp("instance")
    return _removed_after(home, dg.instance_for_test(temp_dir=str(home), overrides={
        "event_log_storage": {"module": "dagster._core.storage.event_log",
                              "class": "ConsolidatedSqliteEventLogStorage",
                              "config": {"base_dir": str(home / "events")}}}))


@contextlib.contextmanager
def _removed_after(home: Path, instance_cm):
    try:
        with instance_cm as instance:
            yield instance
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _settings(root, *later: str) -> Settings:
    return Settings(data_dir=root, start_date=START, source="simulator", sim_traders=8,
                    sim_end_date=LAST, scoring_start_date=dt.date(2024, 8, 23),
                    sim_changes=(f"{CHANGE}:trader_behaviour:{'+'.join(AFFECTED)}", *later))


def _defs(settings: Settings) -> dg.Definitions:
    """The code location of ``settings``, with small Optuna studies on one worker."""
    defs = build_defs(settings)
    resources = {**defs.resources, "compute": LocalPoolCompute(workers=1),
                 "models": ModelSettings(n_trials=2, pooled_n_trials=1, n_folds=2)}
    return dg.Definitions(assets=defs.assets, asset_checks=defs.asset_checks, jobs=defs.jobs,
                          schedules=defs.schedules, sensors=defs.sensors, resources=resources)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    root = tmp_path_factory.mktemp("replay")
    twin = tmp_path_factory.mktemp("replay_twin")
    settings = _settings(root)
    with _instance(tmp_path_factory) as instance:
        replay = Replay(settings, _defs(settings), instance, FIRST, LAST,
                        replay_params(settings, FIRST, LAST), log=lambda _: None)
        replay._history()  # shared with the twin
        shutil.copytree(root, twin, dirs_exist_ok=True)
        assert replay.run(stop_after=2) == 2  # killed after two mornings...
        assert json.loads(ReplayProgress.path(root).read_text())["last_tick"][:10] == "2024-08-27"
        reported = []
        with core_progress.listening(lambda *a: reported.append(a)):
            assert run_replay(settings, _defs(settings), instance, FIRST, LAST) == 0  # ...resumed
        mornings = [a for a in reported if a[0] == "replay"]
        # resumed: 2 of the 10 mornings (08-26..09-06: 9 sessions ingested, Labor Day skipped)
        # were done; then the rest one by one
        assert mornings == [("replay", done, 10, "mornings") for done in range(2, 11)]
        morning_runs = instance.get_run_records(dg.RunsFilter(job_name="morning_job"))
        partitions = sorted(r.dagster_run.tags["dagster/partition"] for r in morning_runs)
        traders = instance.get_dynamic_partitions("trader")
    with _instance(tmp_path_factory) as twin_instance:
        twin_settings = _settings(twin, LATER)
        params = replay_params(twin_settings, FIRST, LAST)
        stored = json.loads(ReplayProgress.path(twin).read_text())
        ReplayProgress(**{**stored, "params": params}).save(twin)  # the history, another firm
        twin_instance.add_dynamic_partitions("trader", traders)
        # its first training and the morning of 08-26 (ingests and scores 08-23)
        twin_defs = _defs(twin_settings)
        Replay(twin_settings, twin_defs, twin_instance, FIRST, LAST, params,
               log=lambda _: None).run(stop_after=1)
        twin_days = {d: _simulated_totals(twin_defs, dt.date.fromisoformat(d))
                     for d in ("2024-08-23", "2024-08-26")}
    yield root, twin, partitions, twin_days


def _simulated_totals(defs: dg.Definitions, day: dt.date) -> pd.DataFrame:
    """The totals ``defs``'s simulated firm gives for ``day`` (what its morning would ingest)."""
    batches = list(defs.resources["source"].build().iter_batches([day]))
    frame = pd.concat([b.totals.to_pandas() for b in batches], ignore_index=True)
    return frame.sort_values("trader_id", ignore_index=True)


def _events(root, kind):
    progress = json.loads(ReplayProgress.path(root).read_text())
    return [e for e in progress["events"] if e["kind"] == kind]


def test_every_session_once_in_order_and_the_holiday_skipped_with_its_reason(replayed):
    root, _, partitions, _ = replayed
    mornings = [e["date"] for e in _events(root, "morning")]
    assert mornings == ["2024-08-23", "2024-08-26", "2024-08-27", "2024-08-28", "2024-08-29",
                        "2024-08-30", "2024-09-03", "2024-09-04", "2024-09-05"]
    assert all(e["success"] for e in _events(root, "morning")), _events(root, "morning")
    assert partitions == mornings  # one morning_job run each, none twice after the resume
    skipped = [e for e in _events(root, "skipped") if e["job"] == "morning_job"]
    assert [(e["at"][:10], e["reason"]) for e in skipped] == [
        ("2024-09-02", "not a session of the calendar (weekend or holiday)")]
    weekly = _events(root, "weekly_retrain")
    assert [(e["at"][:16], e["as_of"]) for e in weekly] == [("2024-09-01T18:00", "2024-08-29")]


def test_the_sensor_retrains_after_the_change_and_not_before(replayed):
    root, _, _, _ = replayed
    lake = Lake(root)
    # before the change drift was tested every morning (T0002's reference is two rows short
    # until 08-30: a skip with that reason) and nothing alarmed
    for day in ("2024-08-23", "2024-08-26"):  # data up to the change's eve
        report = lake.read_df("drift_report", "date", [day]).set_index("trader_id")
        assert report.loc["T0005", "status"] == "checked" and report.loc["T0005", "drift_tested"]
        assert report.loc["T0002", "skip_reason"].startswith("reference too short")
        assert int(report["drift_tested"].astype(bool).sum()) == 6
        assert not report["drifted"].astype(bool).any() and not report["retrain"].any()
    retrains = _events(root, "drift_retrain")
    assert retrains, "the drift sensor never asked for a retraining"
    # T0005's shift is found on the 5th session after the change (the behaviour test's window)
    assert [(e["date"], e["trader_id"], e["reason"]) for e in retrains] == [
        ("2024-09-05", "T0005", "drift")]
    assert all(e["date"] >= CHANGE.isoformat() for e in _events(root, "alarm"))
    runs = [e for e in _events(root, "run") if e["job"] == "retrain_trader_job"]
    assert runs and all(r["success"] for r in runs)
    models = _events(root, "model")
    assert {"initial training", "weekly retraining (Sun 2024-09-01 18:00)"} <= \
        {e["reason"] for e in models}
    assert any(e["reason"].startswith("drift retrain") for e in models)
    for m in models:  # trained only on what the lake held: data up to the session as_of
        assert m["last_trade_date"] < m["as_of"] and m["last_label_date"] <= m["as_of"], m


def test_changing_later_data_changes_no_earlier_model(replayed):
    root, twin, _, twin_days = replayed
    first = {e["path"]: e for e in _events(root, "model") if e["reason"] == "initial training"}
    twins = {e["path"]: e for e in _events(twin, "model") if e["reason"] == "initial training"}
    assert len(first) >= 8 and set(first) == set(twins)  # the same version folders
    for path in first:
        meta_a = json.loads((root / "models" / path / "meta.json").read_text())
        meta_b = json.loads((twin / "models" / path / "meta.json").read_text())
        assert meta_a["data_fingerprint"] == meta_b["data_fingerprint"], path
        assert meta_a["training_window"] == meta_b["training_window"], path
        assert meta_a["training_window"]["last_label_date"] <= "2024-08-22"

    def read(lake_root, asset, day):
        frame = Lake(lake_root).read_df(asset, "date", [day])
        return frame.sort_values("trader_id", ignore_index=True)

    # 08-23 (the same in both firms) ingested and scored alike; the twin's 08-26 is another day
    pd.testing.assert_frame_equal(read(root, "risk_scores", "2024-08-23"),
                                  read(twin, "risk_scores", "2024-08-23"))
    pd.testing.assert_frame_equal(read(root, "raw_totals", "2024-08-23"),
                                  read(twin, "raw_totals", "2024-08-23"))
    for day, same in (("2024-08-23", True), ("2024-08-26", False)):
        stored, twin_sim = read(root, "raw_totals", day), twin_days[day]
        assert list(stored["trader_id"]) == list(twin_sim["trader_id"]), day
        equal = np.array_equal(stored["net_pnl"].to_numpy(float),
                               twin_sim["net_pnl"].to_numpy(float))
        assert equal == same, day  # (the change moves the whole firm's draws)


def test_the_report_follows_the_recommendations_and_says_how(replayed):
    root, _, _, _ = replayed
    out = root / "reports" / "replay"
    report = json.loads((out / "report.json").read_text())
    assert (report["sessions"], report["first_for_date"], report["last_for_date"]) == (
        8, "2024-08-26", "2024-09-05")
    names = [s["name"] for s in report["strategies"]]
    assert names == ["engine (followed)", "rules baseline (followed)", "doing nothing"]
    table = pd.read_csv(out / "outcomes.csv", dtype={"for_date": str})
    assert set(table["for_date"]) == {"2024-08-26", "2024-08-27", "2024-08-28", "2024-08-29",
                                      "2024-08-30", "2024-09-03", "2024-09-04", "2024-09-05"}
    # the followed P&L of a few rows by hand: size x actual P&L, 0 at halt, floored at -limit
    rows = table.set_index(["for_date", "trader_id"])
    cases = {  # level, size multiplier, loss limit (USD), actual P&L, followed P&L (USD)
        ("2024-08-26", "T0004"): ("reduce", 0.5, 1500.0, -1641.4750, -820.7375),  # 0.5 x
        ("2024-08-29", "T0005"): ("normal", 1.0, 3000.0, -4840.1400, -3000.0),  # the limit
        ("2024-08-30", "T0002"): ("warn", 1.0, 3000.0, -16087.2493, -3000.0),  # changed trader
        ("2024-09-05", "T0002"): ("halt", 0.0, 0.0, -9250.4307, 0.0),  # no new risk
        ("2024-08-28", "T0006"): ("reduce", 0.5, 1500.0, 2378.1024, 1189.0512),  # half the gain
    }
    for key, (level, size, limit, actual, followed) in cases.items():
        row = rows.loc[key]
        assert (row["level"], row["size_multiplier"]) == (level, size), key
        assert row["daily_loss_limit_usd"] == pytest.approx(limit), key
        assert row["actual_pnl"] == pytest.approx(actual, abs=1e-4), key
        assert row["engine_pnl"] == pytest.approx(followed, abs=1e-4), key
    nothing = next(s for s in report["strategies"] if s["name"] == "doing nothing")
    assert nothing["total_pnl"] == pytest.approx(table["actual_pnl"].sum(), abs=0.01)
    html = (out / "report.html").read_text()
    assert "P&amp;L scales with size" in html and "plotly" in html.lower()
    assert report["drift_retrains"] and report["weekly_retrains"]
    assert report["skipped"][0]["reason"] == "not a session of the calendar (weekend or holiday)"
    assert {"for_date", "model", "traders"} <= set(report["model_versions_by_day"][0])


def test_the_var_multiplier_goes_on_from_the_previous_scores_across_the_retraining(replayed):
    root, _, _, _ = replayed
    lake = Lake(root)
    scores = lake.read_df("risk_scores", "date").query("score_source == 'model'")
    labels = lake.read_df("risk_labels", "date").query("label_status == 'complete'")
    days = sorted(pd.to_datetime(scores["trade_date"]).dt.date.unique())
    assert days[0] == dt.date(2024, 8, 23) and days[-1] == dt.date(2024, 9, 5)
    state = {}
    for day, part in scores.groupby(pd.to_datetime(scores["trade_date"]).dt.date):
        assert part["var_multiplier"].nunique() == 1  # one firm-wide value a date
        as_of = pd.Timestamp(part["var_multiplier_as_of"].iloc[0])  # NaT: nothing counted yet
        state[day] = (float(part["var_multiplier"].iloc[0]),
                      dt.date.min if pd.isna(as_of) else as_of.date())
    published = scores.merge(labels, on=["trade_date", "trader_id"])
    published["label_date"] = pd.to_datetime(published["label_date"]).dt.date
    published["trade_date"] = pd.to_datetime(published["trade_date"]).dt.date
    counted_any, moved = False, 0
    for before, day in zip(days, days[1:]):  # 09-01's weekly retraining sits between 08-30 and 09-03
        m, as_of = state[before]
        # counted: the outcomes labelled after the state's as_of up to the new one (a label is
        # stored by the morning after its session: the scores of D count the labels of D-1)
        counted_to = state[day][1]
        new = published[(published["trade_date"] < day) & (published["label_date"] > as_of)
                        & (published["label_date"] <= counted_to)]
        log_m = np.log(m)
        for _, rows in sorted(new.groupby("label_date")):
            violations = int((rows["next_net_pnl"] < rows["var_05"]).sum())
            log_m = np.clip(log_m + 0.05 * (violations - 0.05 * len(rows)), np.log(0.5), np.log(3))
            counted_any = True
        assert state[day][0] == pytest.approx(np.exp(log_m), rel=1e-9), day
        moved += state[day][0] != m
    assert counted_any and moved
