"""Report folders named by the data's as-of date and the run; latest.json points at the newest."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from risk_dagster.core.report_dirs import latest_dir, report_dir, write_latest

RUN_A = "3f2a9c1e-7b44-4d0e-9a51-0c2b8f6d1e77"
RUN_B = "b81d0e55-1c2a-4e3f-8d9b-55aa01c2d3e4"


def test_folder_is_as_of_date_and_run(tmp_path):
    folder = report_dir(tmp_path, "model_evaluation", dt.date(2025, 12, 31), RUN_A)
    assert folder == tmp_path / "reports" / "model_evaluation" / "2025-12-31_3f2a9c1e"


def test_two_runs_on_the_same_data_keep_both_and_latest_names_the_second(tmp_path):
    as_of = dt.date(2025, 12, 31)
    first = report_dir(tmp_path, "model_evaluation", as_of, RUN_A)
    second = report_dir(tmp_path, "model_evaluation", as_of, RUN_B)
    assert first != second
    for folder, run in ((first, RUN_A), (second, RUN_B)):
        folder.mkdir(parents=True)
        (folder / "evaluation.md").write_text(run)
        pointer = write_latest(tmp_path, "model_evaluation", folder, as_of=as_of, run_id=run)
    assert json.loads(pointer.read_text()) == {
        "folder": "reports/model_evaluation/2025-12-31_b81d0e55", "as_of": "2025-12-31",
        "run_id": RUN_B}
    assert latest_dir(tmp_path, "model_evaluation") == second
    assert (first / "evaluation.md").read_text() == RUN_A  # the earlier report is kept


def test_names_are_checked_before_they_become_paths(tmp_path):
    with pytest.raises(ValueError, match="run id"):
        report_dir(tmp_path, "model_evaluation", dt.date(2025, 1, 2), "../../etc")
    with pytest.raises(ValueError, match="kind"):
        report_dir(tmp_path, "../x", dt.date(2025, 1, 2), RUN_A)
    with pytest.raises(ValueError):
        write_latest(tmp_path, "model_evaluation", tmp_path.parent, as_of=dt.date(2025, 1, 2),
                     run_id=RUN_A)
    assert latest_dir(tmp_path, "model_evaluation") is None
