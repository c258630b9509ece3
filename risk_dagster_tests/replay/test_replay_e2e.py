"""A short replay of a small simulated firm with an injected behaviour change, through the
schedules, the drift sensor and the retraining they request, as production runs them.

8 traders, history from 2024-01-02; replayed sessions 2024-08-26..2024-09-05 (Labor Day,
2024-09-02, inside), one weekly retraining (Sunday 2024-09-01), two traders trading bigger
from 2024-08-29.
"""

import datetime as dt
import json
import shutil

import dagster as dg
import pandas as pd
import pytest

from risk_dagster.core.lake import Lake
from risk_dagster.core.settings import Settings
from risk_dagster.defs.build import build_defs
from risk_dagster.defs.resources import ModelSettings
from risk_dagster.replay.progress import ReplayProgress
from risk_dagster.replay_runner import Replay, replay_params, run_replay

START, FIRST, LAST = dt.date(2024, 1, 2), dt.date(2024, 8, 26), dt.date(2024, 9, 5)
CHANGE = dt.date(2024, 8, 29)
AFFECTED = ("T0002", "T0005")
# the twin firm: the same, plus a third trader changing after the weekly retraining's data
LATER = "2024-09-04:trader_behaviour:T0007"


def _settings(root, *later: str) -> Settings:
    return Settings(data_dir=root, start_date=START, source="simulator", sim_traders=8,
                    sim_end_date=LAST,
                    sim_changes=(f"{CHANGE}:trader_behaviour:{'+'.join(AFFECTED)}", *later))


def _defs(settings: Settings) -> dg.Definitions:
    """The code location of ``settings``, with small Optuna studies."""
    defs = build_defs(settings)
    resources = {**defs.resources,
                 "models": ModelSettings(n_trials=2, pooled_n_trials=1, n_folds=2, workers=1)}
    return dg.Definitions(assets=defs.assets, asset_checks=defs.asset_checks, jobs=defs.jobs,
                          schedules=defs.schedules, sensors=defs.sensors, resources=resources)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    root = tmp_path_factory.mktemp("replay")
    settings = _settings(root)
    with dg.instance_for_test() as instance:
        replay = Replay(settings, _defs(settings), instance, FIRST, LAST,
                        replay_params(settings, FIRST, LAST), log=lambda _: None)
        replay._setup()  # history + first training, shared with the other replay below
        twin = tmp_path_factory.mktemp("replay_later_change")
        shutil.copytree(root, twin, dirs_exist_ok=True)
        assert replay.run(stop_after=3) == 3  # killed after three mornings...
        code = run_replay(settings, _defs(settings), instance, FIRST, LAST)  # ...and resumed
        assert code == 0
        yield root, twin, instance


def _events(root, kind):
    progress = json.loads(ReplayProgress.path(root).read_text())
    return [e for e in progress["events"] if e["kind"] == kind]


def test_every_session_once_in_order_and_the_holiday_skipped_with_its_reason(replayed):
    root, _, instance = replayed
    mornings = [e["date"] for e in _events(root, "morning")]
    assert mornings == ["2024-08-26", "2024-08-27", "2024-08-28", "2024-08-29", "2024-08-30",
                        "2024-09-03", "2024-09-04", "2024-09-05"]
    assert all(e["success"] for e in _events(root, "morning"))
    skipped = [e for e in _events(root, "skipped") if e["job"] == "morning_job"]
    assert [(e["at"][:10], e["reason"]) for e in skipped] == [
        ("2024-09-02", "not a session of the calendar (weekend or holiday)")]
    runs = instance.get_run_records(dg.RunsFilter(job_name="morning_job"))
    assert sorted(r.dagster_run.tags["dagster/partition"] for r in runs) == mornings
    weekly = _events(root, "weekly_retrain")
    assert [e["at"][:16] for e in weekly] == ["2024-09-01T18:00"]


def test_retrains_come_after_the_change_and_no_model_saw_data_past_its_cutoff(replayed):
    root, _, _ = replayed
    retrains = _events(root, "drift_retrain")
    assert retrains, "the drift sensor never asked for a retraining"
    assert all(e["date"] >= CHANGE.isoformat() for e in retrains)
    assert {e["trader_id"] for e in retrains} & set(AFFECTED)
    models = _events(root, "model")
    assert len({e["reason"] for e in models}) >= 3  # initial, weekly, drift retrain
    for m in models:  # trained on labels known by then: the label of D needs D+1's data
        assert m["last_label_date"] <= m["as_of"], m


def test_changing_later_data_changes_no_earlier_model(replayed):
    root, twin, instance = replayed
    settings = _settings(twin, LATER)
    params = replay_params(settings, FIRST, LAST)
    stored = json.loads(ReplayProgress.path(twin).read_text())
    ReplayProgress(**{**stored, "params": params}).save(twin)  # the same set-up, another firm
    Replay(settings, _defs(settings), instance, FIRST, LAST, params, log=lambda _: None).run(
        stop_after=8)  # through the weekly retraining (data to 2024-08-29) and data of 09-04
    first_models = {e["path"]: e for e in _events(root, "model")
                    if e["reason"].startswith(("initial", "weekly"))}
    twin_models = {e["path"]: e for e in _events(twin, "model")
                   if e["reason"].startswith(("initial", "weekly"))}
    assert set(first_models) == set(twin_models) and len(first_models) > 8
    for path in first_models:  # same version folder = same data fingerprint, config and code
        a = json.loads((root / "models" / path / "meta.json").read_text())
        b = json.loads((twin / "models" / path / "meta.json").read_text())
        assert a["data_fingerprint"] == b["data_fingerprint"]
    # the two firms are the same up to 2024-09-03 and differ from 2024-09-04 on
    def totals(root_, day):
        return Lake(root_).read_df("raw_totals", "date", [day]).sort_values(
            ["trader_id"], ignore_index=True)

    pd.testing.assert_frame_equal(totals(root, "2024-08-29"), totals(twin, "2024-08-29"))
    assert not totals(root, "2024-09-04").equals(totals(twin, "2024-09-04"))


def test_the_report_follows_the_recommendations_and_says_how(replayed):
    root, _, _ = replayed
    out = root / "reports" / "replay"
    report = json.loads((out / "report.json").read_text())
    assert report["sessions"] == 7  # the last morning's session (2024-09-06) is not known yet
    names = [s["name"] for s in report["strategies"]]
    assert names == ["engine (followed)", "rules baseline (followed)", "doing nothing"]
    table = pd.read_csv(out / "outcomes.csv")
    # the followed P&L of every row from its own recommendation, by hand
    m = table["size_multiplier"].where(~table["level"].isin(["close-only", "halt"]), 0.0)
    expected = (m * table["actual_pnl"]).clip(lower=-table["daily_loss_limit_usd"])
    pd.testing.assert_series_equal(table["engine_pnl"], expected, check_names=False)
    nothing = next(s for s in report["strategies"] if s["name"] == "doing nothing")
    assert nothing["total_pnl"] == pytest.approx(table["actual_pnl"].sum(), abs=0.01)
    html = (out / "report.html").read_text()
    assert "P&amp;L scales with size" in html and "plotly" in html.lower()
    assert report["drift_retrains"] and report["weekly_retrains"]
