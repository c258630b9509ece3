"""The evaluation as the desk reads it: headline figures rounded with their units, and one row
per trader saying which model is its champion and how it did out of sample.

Pure functions of ``key_numbers`` and the champion decisions (no Dagster).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from risk_dagster.core.desk_table import TRADER_COLUMN, DeskColumn

# Headline figures kept as numbers from run to run (so the UI plots a series per weekly run):
# metadata name -> (key in key_numbers, digits, unit).
HEADLINE = {
    "champion_auc": ("champion_auc", 3, "AUC, 0.5 = chance"),
    "champion_brier": ("champion_brier", 4, "Brier score, lower is better"),
    "oracle_capture": ("champion_oracle_capture", 3,
                       "share of the simulator's true signal the champions capture, 0 to 1"),
    "counterfactual_benefit_usd": ("champion_net_benefit_usd", 0,
                                   "USD, firm-wide net benefit of the size cuts, upper bound"),
    "rules_auc": ("rules_auc", 3, "AUC of the rules baseline"),
    "rules_benefit_usd": ("rules_net_benefit_usd", 0, "USD, the rules baseline's net benefit"),
}


def _round(value: float, digits: int) -> float | int:
    return int(round(value)) if digits == 0 else round(float(value), digits)


def headline(numbers: dict[str, Any]) -> dict[str, float | int]:
    """The ``HEADLINE`` figures present and finite in ``numbers``, rounded (USD to whole
    dollars, AUC to 3 digits)."""
    out = {}
    for name, (key, digits, _) in HEADLINE.items():
        value = numbers.get(key)
        if value is not None and math.isfinite(float(value)):
            out[name] = _round(value, digits)
    return out


def _unit(key: str) -> tuple[int, str]:
    """(digits, unit) of a key of ``key_numbers`` from its suffix."""
    if key.endswith("_usd"):
        return 0, "USD"
    if key.endswith("_oracle_capture"):
        return 3, "share of the true signal"
    if key.endswith("_auc"):
        return 3, "AUC"
    if key.endswith("_brier"):
        return 4, "Brier score"
    if key.startswith("champions_"):
        return 0, "traders"
    if key.endswith("_n") or key.startswith("n_"):
        return 0, "rows"
    return 3, ""


def key_figures(numbers: dict[str, Any]) -> pd.DataFrame:
    """Every key number as a row: figure, value (rounded, text), unit. None reads "not
    available"."""
    rows = []
    for key, value in numbers.items():
        digits, unit = _unit(key)
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            text = "not available"
        elif digits == 0:
            text = f"{int(round(float(value))):,}"
        else:
            text = f"{float(value):.{digits}f}"
        rows.append({"figure": key.replace("_", " "), "value": text, "unit": unit})
    return pd.DataFrame(rows, columns=["figure", "value", "unit"])


CHAMPION_COLUMNS: tuple[DeskColumn, ...] = (
    TRADER_COLUMN,
    DeskColumn("champion", "string", "model family serving the trader"),
    DeskColumn("AUC", "float", "out-of-sample AUC of the champion, 0.5 = chance"),
    DeskColumn("Brier", "float", "out-of-sample Brier score of the champion"),
    DeskColumn("benefit USD", "int", "counterfactual net benefit of its size cuts, USD"),
    DeskColumn("rows", "int", "out-of-sample trader-days it was judged on"),
    DeskColumn("candidates passed", "string", "candidates that passed the gates, of all"),
    DeskColumn("why", "string", "the selection's reason"),
)


def _num(value: Any, digits: int) -> float | int | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return _round(value, digits)


def champion_table(champions: dict[str, dict]) -> pd.DataFrame:
    """One row per trader (``CHAMPION_COLUMNS``), by trader id: the chosen family and its
    out-of-sample figures (empty when the champion is a fallback without them)."""
    rows = []
    for trader, decision in sorted(champions.items()):
        chosen = decision.get("chosen")
        candidates = decision.get("candidates") or []
        mine = next((c for c in candidates if c.get("model") == chosen), {})
        rows.append({
            "trader": trader,
            "champion": chosen or "built-in rules baseline",
            "AUC": _num(mine.get("auc"), 3), "Brier": _num(mine.get("brier"), 4),
            "benefit USD": _num(mine.get("net_benefit"), 0), "rows": _num(mine.get("n"), 0),
            "candidates passed": (f"{sum(bool(c.get('passed')) for c in candidates)} of "
                                  f"{len(candidates)}" if candidates else "none evaluated"),
            "why": str(decision.get("reason") or ""),
        })
    return pd.DataFrame(rows, columns=[c.name for c in CHAMPION_COLUMNS])


def _three_digits(value) -> float:
    """A p-value to three significant digits (2.5123e-20 -> 2.51e-20)."""
    return float(f"{float(value):.3g}")


def var_figures(raw: dict[str, Any], calibrated: dict[str, Any]) -> dict[str, float | int]:
    """The VaR backtest as the desk reads it: violation rates in percent of trader-days (two
    decimals) and Kupiec p-values to three significant digits, before and after calibration.

    ``raw`` / ``calibrated``: ``var_violation_rate`` (0..1), ``kupiec_p`` and ``var_n`` (rows)."""
    def pct(value) -> float:
        return round(100 * float(value), 2)

    return {"var_violations_raw_pct": pct(raw["var_violation_rate"]),
            "var_kupiec_p_raw": _three_digits(raw["kupiec_p"]),
            "var_violations_calibrated_pct": pct(calibrated["var_violation_rate"]),
            "var_kupiec_p_calibrated": _three_digits(calibrated["kupiec_p"]),
            "var_calibrated_rows": int(calibrated["var_n"])}


def var_per_trader(per: pd.DataFrame) -> pd.DataFrame:
    """Per-trader violation rates (``var_violation_rate_raw`` / ``_calibrated``, 0..1) as
    percent with two decimals and Kupiec p to three significant digits, for the desk table."""
    out = per.copy()
    for col in ("var_violation_rate_raw", "var_violation_rate_calibrated"):
        if col in out:
            rate = pd.to_numeric(out.pop(col), errors="coerce")  # None where a trader had no row
            out[col.replace("var_violation_rate", "violations_pct")] = (100 * rate).round(2)
    if "kupiec_p" in out:
        out["kupiec_p"] = pd.to_numeric(out["kupiec_p"], errors="coerce").map(
            lambda v: _three_digits(v) if pd.notna(v) else v)
    return out
