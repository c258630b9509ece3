"""The desk's per-trader tables: riskiest first, desk units, reasons in one line of words."""

from __future__ import annotations

import numpy as np
import pandas as pd

from risk_dagster.core.desk_table import cut_text, markdown_rows
from risk_dagster.recommendations.desk_view import (
    RECOMMENDATION_COLUMNS,
    SCORE_COLUMNS,
    level_counts,
    recommendations_table,
    scores_table,
)


def _recs() -> pd.DataFrame:
    return pd.DataFrame({
        "trader_id": ["T0001", "T0002", "T0003", "T0004"],
        "level": ["normal", "halt", "warn", "warn"],
        "size_multiplier": [1.0, 0.0, 0.75, 0.75],
        "daily_loss_limit_usd": [5000.4, 0.0, 3749.6, 3000.0],
        "max_position_notional_usd": [1_000_000.0, 0.0, 750_000.0, 750_000.0],
        "p_large_loss": [0.31, 0.08, 0.124, 0.2],
        "risk_score": [31.0, 8.0, 12.4, 20.0],
        "reasons": [["3 large losses in the last 5 sessions"],
                    ["lost $6,164 on the last session, above the $5,000 kill switch",
                     "5 losing days in a row"], [], np.array(["orders 1.8× the trader's usual size"])],
    })


def test_recommendations_table_is_strictest_level_then_highest_risk():
    table = recommendations_table(_recs())
    assert list(table.columns) == [c.name for c in RECOMMENDATION_COLUMNS]
    assert list(table["trader"]) == ["T0002", "T0004", "T0003", "T0001"]
    first = table.iloc[0].to_dict()
    assert first == {"trader": "T0002", "level": "halt", "size multiplier": 0.0,
                     "loss limit USD": 0, "position cap USD": 0, "P(large loss) %": 8.0,
                     "risk score": 8.0, "top reasons": "lost $6,164 on the last session, above "
                     "the $5,000 kill switch; 5 losing days in a row"}
    assert table.loc[table["trader"] == "T0003", "loss limit USD"].item() == 3750
    assert table.loc[table["trader"] == "T0003", "top reasons"].item() == "no reason given"
    assert table.loc[table["trader"] == "T0004", "top reasons"].item() == (
        "orders 1.8× the trader's usual size")


def test_level_counts_name_every_level_in_ladder_order():
    assert level_counts(_recs()["level"]) == {"normal": 1, "warn": 2, "reduce": 0,
                                             "close-only": 0, "halt": 1}


def test_scores_table_shows_the_model_and_no_python_lists():
    scores = pd.DataFrame({
        "trader_id": ["T0001", "T0002"], "risk_score": [12.0, 40.5], "p_large_loss": [0.12, 0.405],
        "pred_pnl": [150.4, np.nan], "var_05": [-2500.6, -1200.0],
        "model_family": ["trader_lgbm", "rules_baseline"], "model_version": ["20251231T0101", "builtin"],
        "score_source": ["model", "rules_baseline"],
        "reasons": [["a large loss on the last session"], ["no model prediction: scored by the "
                                                           "rules baseline"]]})
    table = scores_table(scores)
    assert list(table.columns) == [c.name for c in SCORE_COLUMNS]
    assert table.to_dict("records") == [
        {"trader": "T0002", "risk score": 40.5, "P(large loss) %": 40.5, "expected P&L USD": None,
         "VaR 5% USD": -1200, "model": "rules baseline",
         "top reasons": "no model prediction: scored by the rules baseline"},
        {"trader": "T0001", "risk score": 12.0, "P(large loss) %": 12.0, "expected P&L USD": 150,
         "VaR 5% USD": -2501, "model": "trader_lgbm 20251231T0101",
         "top reasons": "a large loss on the last session"}]


def test_markdown_rows_stop_before_the_limit_and_say_how_many_are_shown():
    table = pd.DataFrame({"trader": [f"T{i:04d}" for i in range(500)],
                          "top reasons": ["x" * 60] * 500})
    text, shown = markdown_rows(table, 5_000, "all rows in live/2025-01-02/recommendations.csv")
    assert len(text) <= 5_000 and 0 < shown < 500
    assert text.count("\n| T") == shown
    assert text.rstrip().endswith(f"{shown:,} of 500 rows shown; all rows in "
                                  "live/2025-01-02/recommendations.csv")
    small, n = markdown_rows(table.head(3), 5_000, "unused")
    assert n == 3 and "rows shown" not in small


def test_markdown_rows_escape_pipes_and_tags():
    text, _ = markdown_rows(pd.DataFrame({"a": ["x | y <b>"]}), 1_000, "")
    assert "x \\| y &lt;b&gt;" in text


def test_cut_text_cuts_at_a_line_and_says_so():
    text = "".join(f"| T{i:04d} | row {i} |\n" for i in range(2_000))
    cut = cut_text(text, 20_000, "The whole report: reports/model_evaluation/x/evaluation.md")
    assert len(cut) <= 20_000
    body, tail = cut.split("\n\n**Cut here**")
    assert body.endswith(" |") and text.startswith(body)  # whole rows only
    assert f"of {len(text):,} characters shown" in tail and "evaluation.md" in tail
    assert cut_text("short", 20_000, "x") == "short"
