"""Daily report: level changes, the heatmap matrix, firm P&L and drawdown, and escaped HTML."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from risk_dagster.recommendations.daily_report import (
    daily_report_html, firm_pnl_drawdown, level_changes, risk_score_matrix,
)
from risk_dagster_tests.factories import PLOTLY_BUNDLE_HEAD, fetched_resources

from .conftest import TODAY, Inputs

DAY = dt.timedelta(days=1)


def _rows(day: dt.date, levels: dict[str, str], scores: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"for_date": day, "trader_id": list(levels), "level": list(levels.values()),
                         "risk_score": [scores[t] for t in levels]})


def test_level_changes_on_a_hand_made_example():
    previous = _rows(TODAY - DAY, {"A": "normal", "B": "reduce", "C": "warn", "D": "halt",
                                   "F": "warn"},
                     {"A": 8.0, "B": 35.0, "C": 22.0, "D": 60.0, "F": 25.0})
    today = _rows(TODAY, {"A": "reduce", "B": "normal", "C": "warn", "E": "halt", "F": "halt"},
                  {"A": 31.0, "B": 9.0, "C": 21.0, "E": 12.0, "F": 50.0})
    changes = level_changes(today, previous)
    assert changes.to_dict(orient="records") == [
        {"trader_id": "F", "previous_level": "warn", "level": "halt", "change": "up",
         "previous_risk_score": 25.0, "risk_score": 50.0},
        {"trader_id": "A", "previous_level": "normal", "level": "reduce", "change": "up",
         "previous_risk_score": 8.0, "risk_score": 31.0},
        {"trader_id": "B", "previous_level": "reduce", "level": "normal", "change": "down",
         "previous_risk_score": 35.0, "risk_score": 9.0},
    ]
    assert level_changes(today, None).empty
    assert list(level_changes(today, None).columns) == list(changes.columns)


def test_risk_score_matrix_takes_the_last_mornings_and_todays_scores():
    days = [TODAY - k * DAY for k in (4, 3, 2, 1)]
    history = pd.concat([_rows(d, {"A": "normal", "B": "normal"}, {"A": 10.0 + i, "B": 5.0})
                         for i, d in enumerate(days)], ignore_index=True)
    # A stale row for today and a future row must both be ignored: today's column is the recs'.
    history.loc[len(history)] = [TODAY, "A", "normal", 99.0]
    history.loc[len(history)] = [TODAY + DAY, "A", "normal", 77.0]
    recs = _rows(TODAY, {"A": "normal", "B": "halt", "C": "warn"},
                 {"A": 14.0, "B": 3.0, "C": 25.0})
    m = risk_score_matrix(history, recs, TODAY, n_days=3)
    assert list(m.columns) == [TODAY - 2 * DAY, TODAY - DAY, TODAY]
    assert list(m.index) == ["B", "C", "A"]  # strictest level first, then score
    assert m.loc["A"].tolist() == [12.0, 13.0, 14.0]
    assert np.isnan(m.loc["C", TODAY - DAY]) and m.loc["C", TODAY] == 25.0


def test_firm_pnl_and_drawdown_by_hand():
    days = [dt.date(2024, 3, d) for d in (1, 4, 5, 6, 7)]
    pnl = pd.DataFrame({
        "trade_date": [d for d in days for _ in (0, 1)],
        "trader_id": ["A", "B"] * 5,
        "net_pnl": [150.0, -50.0, -100.0, -200.0, 50.0, np.nan, 300.0, 100.0, -1e6, 0.0],
    })
    curve = firm_pnl_drawdown(pnl, before=dt.date(2024, 3, 7))
    assert curve["net_pnl"].tolist() == [100.0, -300.0, 50.0, 400.0]
    assert curve["cum_pnl"].tolist() == [100.0, -200.0, -150.0, 250.0]
    assert curve["drawdown"].tolist() == [0.0, 300.0, 250.0, 0.0]
    first_loss = firm_pnl_drawdown(pnl.iloc[2:4])  # a first losing day is a drawdown from 0
    assert first_loss["drawdown"].tolist() == [300.0]


@pytest.fixture
def morning(inputs: Inputs):
    inputs.set_feature("T0003", "net_pnl_d0", -7_000.0)  # kill switch
    recs, summary = inputs.run()
    recs = recs.reset_index(drop=True)
    recs.at[0, "reasons"] = ["<script>alert('x')</script> & more"]
    return recs, summary, inputs.history


def test_report_has_header_sections_charts_and_escaped_text(morning):
    recs, summary, history = morning
    previous = recs.assign(for_date=TODAY - DAY)
    previous.loc[previous["trader_id"] == "T0003", "level"] = "warn"
    page = daily_report_html(TODAY, recs, summary, history, previous_recs=previous)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page
    assert "<h1>Daily risk report &mdash; 2024-03-05</h1>" in page
    assert "<td class='lvl-normal'>3</td>" in page and "<td class='lvl-halt'>1</td>" in page
    head = page.split("<h2>")[0]
    assert "Kill-switch events" in head and "T0003" in head
    assert "lost $7,000 on the last session, above the $5,000 kill switch" in head
    assert 'id="risk-heatmap"' in page and 'id="firm-pnl"' in page
    assert fetched_resources(page) == []  # offline and on its own, copied anywhere
    assert page.count(PLOTLY_BUNDLE_HEAD) == 1  # plotly.js inlined once for both charts
    assert "<title>Daily risk report 2024-03-05</title>" in page
    top = page.split("<h2>Top risks</h2>")[1].split("<h2>")[0]
    assert top.index("T0003") < top.index("T0001")
    changes = page.split("Changes since the previous morning</h2>")[1].split("<h2>")[0]
    assert "T0003" in changes and "stricter" in changes and "T0002" not in changes


def test_report_without_previous_morning_or_pnl(inputs: Inputs):
    recs, summary = inputs.run()
    page = daily_report_html(TODAY, recs.reset_index(drop=True), summary, None)
    assert "No kill-switch events." in page
    assert "No previous morning on record." in page
    assert "No P&amp;L history." in page and 'id="firm-pnl"' not in page
    assert 'id="risk-heatmap"' in page
