"""Plain-word reasons: a feature's contribution to risk, rendered with the feature's actual value.

A template per important feature (the required names of ``trader_features``), a pattern for
z-scores (``<base>_z<window>``: "X is 2.3 sd above its 21-day usual"), and a generic fallback from
the feature catalog's description and unit for everything else.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

import pandas as pd

_Z_SCORE = re.compile(r"^(?P<base>.+)_z(?P<window>\d+)$")


def usd(value: float) -> str:
    """``-4310.4`` -> ``"-$4,310"`` (whole dollars)."""
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.0f}"


def _plural(n: float, one: str, many: str) -> str:
    k = int(round(n))
    return f"{k} {one if k == 1 else many}"


def _after_loss(row: Mapping[str, float]) -> str:
    pnl = row.get("net_pnl_d0", math.nan)
    return " after a loss" if pnl is not None and pnl < 0 else ""


def _net_pnl(v: float, row: Mapping[str, float]) -> str:
    return f"lost {usd(-v)} on the last day" if v < 0 else f"made {usd(v)} on the last day"


def _days_since(v: float, row: Mapping[str, float]) -> str:
    if v < 1:
        return "a large loss on the last day"
    return f"last large loss {_plural(v, 'session', 'sessions')} ago"


# Each template gets the feature's value and the trader's whole feature row (for context such as
# "after a loss"); the value is never NaN here.
TEMPLATES: dict[str, Callable[[float, Mapping[str, float]], str]] = {
    "loss_streak": lambda v, r: f"{_plural(v, 'losing day', 'losing days')} in a row",
    "large_losses_5d": lambda v, r: f"{_plural(v, 'large loss', 'large losses')} in the last 5 days",
    "drawdown_21d": lambda v, r: f"down {usd(v)} from the 21-day peak",
    "net_pnl_d0": _net_pnl,
    "pnl_vol_21d": lambda v, r: f"daily P&L swinging {usd(v)} (21-day sd)",
    "activity_ratio_21d": lambda v, r: f"trading {v:.1f}x usual volume{_after_loss(r)}",
    "size_ratio_21d": lambda v, r: f"orders {v:.1f}x usual size{_after_loss(r)}",
    "days_since_large_loss": _days_since,
    "traded_d0": lambda v, r: "traded on the last day" if v >= 0.5 else "did not trade on the last day",
}


def _catalog_lookup(catalog: pd.DataFrame | None) -> dict[str, tuple[str, str]]:
    """name -> (description, unit) from the feature catalog (may be missing)."""
    if catalog is None or catalog.empty:
        return {}
    units = catalog["unit"] if "unit" in catalog else pd.Series("", index=catalog.index)
    return {str(n): (str(d), str(u) if isinstance(u, str) else "")
            for n, d, u in zip(catalog["name"], catalog["description"], units)}


def _format_value(value: float, unit: str) -> str:
    unit = unit.lower()
    if unit in ("usd", "$"):
        return usd(value)
    if unit in ("fraction", "share", "rate", "0..1"):
        return f"{value:.0%}"
    if unit in ("count", "days", "sessions"):
        return f"{value:,.0f}" + (f" {unit}" if unit != "count" else "")
    text = f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{text} {unit}".rstrip() if unit not in ("", "nan", "none") else text


def _label(name: str, lookup: Mapping[str, tuple[str, str]]) -> str:
    return lookup[name][0] if name in lookup else name.replace("_", " ")


def render_reason(name: str, value: float, row: Mapping[str, float],
                  lookup: Mapping[str, tuple[str, str]]) -> str:
    """One reason in plain words for feature ``name`` at ``value``.

    ``row`` is the trader's feature row (name -> value); ``lookup`` maps a feature name to its
    catalog (description, unit).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{_label(name, lookup)}: no data"
    value = float(value)
    if name in TEMPLATES:
        return TEMPLATES[name](value, row)
    z = _Z_SCORE.match(name)
    if z:
        side = "above" if value >= 0 else "below"
        return (f"{_label(z['base'], lookup)} is {abs(value):.1f} sd {side} "
                f"its {z['window']}-day usual")
    unit = lookup.get(name, ("", ""))[1]
    return f"{_label(name, lookup)}: {_format_value(value, unit)}"


def top_reasons(contributions: Mapping[str, float], row: Mapping[str, float],
                catalog: pd.DataFrame | None, n: int = 3) -> list[tuple[str, str]]:
    """The ``n`` features pushing risk up the most, as (feature name, plain-word reason).

    ``contributions``: feature name -> contribution to the risk (positive = more risk; e.g. SHAP
    values on the log-odds of a large loss). Only names present in ``row`` and positive
    contributions are used, so a model's bias term never becomes a reason.
    """
    lookup = _catalog_lookup(catalog)
    ranked = sorted(
        ((float(c), k) for k, c in contributions.items()
         if k in row and c is not None and math.isfinite(float(c)) and float(c) > 0),
        reverse=True,
    )
    return [(k, render_reason(k, row[k], row, lookup)) for _, k in ranked[:n]]
