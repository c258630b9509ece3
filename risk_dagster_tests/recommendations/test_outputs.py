"""Live outputs: the four files of a morning, atomic re-runs, and the append-only history."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import duckdb
import pandas as pd
import pytest

from risk_dagster.recommendations import RecommendationConfig, publish_checks, to_audit_json
from risk_dagster.recommendations.outputs import (
    FILE_NAMES, append_history, history_glob, history_relation, live_dir, read_history,
    recommendations_csv, write_live_outputs,
)
from risk_dagster.recommendations.schema import RECOMMENDATIONS

from .conftest import D, TODAY, TRADERS, Inputs

YESTERDAY = dt.date(2024, 3, 4)  # the previous morning (a session)


def _strict_json(text: str):
    def no_constant(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=no_constant)


def _morning(inputs: Inputs):
    """Recs, firm summary and audit of TODAY with T0002 killed and a model reason for it."""
    inputs.set_feature("T0002", "net_pnl_d0", -6_000.0)
    inputs.contributions.loc[inputs.contributions["trader_id"] == "T0002", "drawdown_21d"] = 0.5
    cfg = RecommendationConfig()
    recs, summary = inputs.run(cfg)
    recs = recs.reset_index(drop=True)
    checks = publish_checks(recs, TRADERS, cfg, today=TODAY)
    audit = to_audit_json(recs, summary, cfg, today=TODAY, checks=checks,
                          inputs={"features": inputs.features, "history": inputs.history})
    return recs, summary, audit


def _as_of(recs: pd.DataFrame, day: dt.date, **levels: str) -> pd.DataFrame:
    """A copy of ``recs`` dated ``day`` with some traders' levels replaced."""
    out = recs.copy()
    out["for_date"] = day
    for trader, level in levels.items():
        out.loc[out["trader_id"] == trader, "level"] = level
    return out


MONITORING = {"timings_s": {"score": 0.4, "report": 1.2}, "checks": ["all passed"],
              "notifications": [{"channel": "webhook", "sent": True}], "warnings": []}


def test_files_exist_and_parse(inputs: Inputs, tmp_path):
    recs, summary, audit = _morning(inputs)
    paths = write_live_outputs(tmp_path, TODAY, recs, summary, audit, MONITORING,
                               pnl_history=inputs.history)
    folder = tmp_path / "live" / "2024-03-05"
    assert {k: p.name for k, p in paths.items()} == FILE_NAMES
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILE_NAMES.values())

    rows = list(csv.DictReader(io.StringIO(paths["csv"].read_text())))
    assert [r["trader_id"] for r in rows][0] == "T0002"  # the halted trader comes first
    assert sorted(r["trader_id"] for r in rows) == TRADERS
    assert list(rows[0])[:4] == ["for_date", "trader_id", "level", "size_multiplier"]
    assert set(RECOMMENDATIONS.names) <= set(rows[0])
    assert rows[0]["level"] == "halt" and rows[0]["daily_loss_limit_usd"] == "0.0"
    assert rows[0]["reasons"] == ("lost $6,000 on the last session, above the $5,000 kill switch; "
                                  "down $300 from the 21-session peak")
    assert rows[0]["rule_hits"] == "kill_switch"
    assert rows[1]["reasons"] == "" and rows[1]["level"] == "normal"

    payload = _strict_json(paths["json"].read_text())
    assert set(payload) == {"audit", "recommendations"}
    assert payload["audit"] == audit
    assert payload["audit"]["for_date"] == "2024-03-05"
    assert len(payload["recommendations"]) == 4
    t2 = next(r for r in payload["recommendations"] if r["trader_id"] == "T0002")
    assert t2["level"] == "halt" and t2["rule_hits"] == ["kill_switch"]
    assert t2["trade_date"] == D.isoformat() and t2["pred_pnl"] == 150.0

    assert _strict_json(paths["monitoring"].read_text()) == MONITORING
    page = paths["html"].read_text()
    assert page.startswith("<!DOCTYPE html>") and 'id="risk-heatmap"' in page
    assert 'id="firm-pnl"' in page and "Kill-switch events" in page


def test_csv_guards_spreadsheet_formulas(inputs: Inputs):
    recs, _ = inputs.run()
    recs = recs.reset_index(drop=True)
    recs.at[0, "reasons"] = ["=HYPERLINK(\"http://x\")", "fine"]
    row = next(csv.DictReader(io.StringIO(recommendations_csv(recs))))
    assert row["reasons"] == "'=HYPERLINK(\"http://x\"); fine"


def test_rerun_replaces_the_date_and_leaves_other_dates(inputs: Inputs, tmp_path):
    recs, summary, audit = _morning(inputs)
    earlier = _as_of(recs, YESTERDAY, T0002="normal")
    old = write_live_outputs(tmp_path, YESTERDAY, earlier, summary, audit, {"run": 1})
    old_bytes = {k: p.read_bytes() for k, p in old.items()}
    old_mtimes = {k: p.stat().st_mtime_ns for k, p in old.items()}

    write_live_outputs(tmp_path, TODAY, recs, summary, audit, {"run": 1})
    folder = live_dir(tmp_path, TODAY)
    (folder / "left_over.txt").write_text("from an older version")
    (folder / ".report.html.abc.tmp").write_text("a crashed write")
    changed = _as_of(recs, TODAY, T0001="reduce")
    new = write_live_outputs(tmp_path, TODAY, changed, summary, audit, {"run": 2})

    assert sorted(p.name for p in folder.iterdir()) == sorted(FILE_NAMES.values())
    assert _strict_json(new["monitoring"].read_text()) == {"run": 2}
    rows = _strict_json(new["json"].read_text())["recommendations"]
    levels = {r["trader_id"]: r["level"] for r in rows}
    assert levels["T0001"] == "reduce"
    assert {k: p.read_bytes() for k, p in old.items()} == old_bytes
    assert {k: p.stat().st_mtime_ns for k, p in old.items()} == old_mtimes
    assert sorted(p.name for p in (tmp_path / "live").iterdir()) == [
        "2024-03-04", "2024-03-05"]  # each report carries its own plotly.js


def test_report_takes_previous_morning_from_the_history_store(inputs: Inputs, tmp_path):
    recs, summary, audit = _morning(inputs)
    append_history(tmp_path, YESTERDAY, _as_of(recs, YESTERDAY, T0002="normal"))
    page = write_live_outputs(tmp_path, TODAY, recs, summary, audit, {})["html"].read_text()
    changes = page.split("Changes since the previous morning")[1].split("<h2>")[0]
    assert "T0002" in changes and "stricter" in changes
    assert "T0001" not in changes


def test_history_rerun_does_not_double_rows(inputs: Inputs, tmp_path):
    recs, _, _ = _morning(inputs)
    append_history(tmp_path, YESTERDAY, _as_of(recs, YESTERDAY))
    append_history(tmp_path, TODAY, recs)
    append_history(tmp_path, TODAY, recs)  # re-run of the same morning
    con = duckdb.connect()
    rel = history_relation(con, tmp_path)
    assert rel.aggregate("count(*)").fetchall()[0][0] == 8
    by_date = dict(con.execute("SELECT for_date, count(*) FROM read_parquet(?) GROUP BY 1",
                               [history_glob(tmp_path)]).fetchall())
    assert by_date == {YESTERDAY: 4, TODAY: 4}
    files = sorted(p.parent.name for p in (tmp_path / "live" / "history").glob("*/*"))
    assert files == ["date=2024-03-04", "date=2024-03-05"]


def test_level_change_between_two_dates_is_visible(inputs: Inputs, tmp_path):
    recs, _, _ = _morning(inputs)
    append_history(tmp_path, YESTERDAY, _as_of(recs, YESTERDAY, T0002="warn"))
    append_history(tmp_path, TODAY, recs)
    con = duckdb.connect()
    history_relation(con, tmp_path).create_view("h")
    moves = con.execute("""
        SELECT trader_id, prev, level FROM (
            SELECT trader_id, for_date, level,
                   lag(level) OVER (PARTITION BY trader_id ORDER BY for_date) AS prev FROM h)
        WHERE prev IS NOT NULL AND prev <> level AND for_date = ?""", [TODAY]).fetchall()
    assert moves == [("T0002", "warn", "halt")]
    frame = read_history(tmp_path, start=TODAY, trader_ids=["T0002", "T0003"])
    assert list(frame["trader_id"]) == ["T0002", "T0003"]
    assert list(frame["for_date"]) == [TODAY, TODAY] and frame["level"].iloc[0] == "halt"
    assert list(frame.loc[0, "reasons"])[0].startswith("lost $6,000")
    assert len(read_history(tmp_path, end=YESTERDAY)) == 4


def test_history_rejects_rows_of_another_morning(inputs: Inputs, tmp_path):
    recs, _, _ = _morning(inputs)
    with pytest.raises(ValueError, match="2024-03-05"):
        append_history(tmp_path, YESTERDAY, recs)
    assert not (tmp_path / "live" / "history").exists()


def test_empty_history_is_an_empty_relation(tmp_path):
    con = duckdb.connect()
    rel = history_relation(con, tmp_path)
    assert rel.columns == RECOMMENDATIONS.names
    assert rel.aggregate("count(*)").fetchall()[0][0] == 0
    assert read_history(tmp_path).empty
