"""Plain-word reasons: a feature's contribution to risk, rendered with the feature's actual value.

Every feature of the catalog reads through its phrase (``risk_dagster.features.phrases``:
"3 large losses in the last 5 sessions", "net P&L 1.7 sd below the trader's 21-day average").
A name outside the catalog (a model trained on extra columns) falls back to a z-score pattern
(``<base>_z<window>``) or to the description and unit a caller's catalog gives for it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import pandas as pd

from risk_dagster.features.phrases import PHRASES, format_value, usd

__all__ = ["render_reason", "top_reasons", "usd"]

_Z_SCORE = re.compile(r"^(?P<base>.+)_z(?P<window>\d+)$")
# catalog units -> phrase formats, for names outside the phrase catalog
_UNIT_FORMATS = {"usd": "usd", "$": "usd", "fraction": "pct", "share": "pct", "rate": "pct",
                 "count": "count", "bps": "bps", "seconds": "duration"}


def _catalog_lookup(catalog: pd.DataFrame | None) -> dict[str, tuple[str, str]]:
    """name -> (description, unit) from a feature catalog (may be missing)."""
    if catalog is None or catalog.empty:
        return {}
    units = catalog["unit"] if "unit" in catalog else pd.Series("", index=catalog.index)
    return {str(n): (str(d), str(u) if isinstance(u, str) else "")
            for n, d, u in zip(catalog["name"], catalog["description"], units)}


def _label(name: str, lookup: Mapping[str, tuple[str, str]]) -> str:
    return lookup[name][0] if name in lookup else name.replace("_", " ")


def _fallback(name: str, value: float, lookup: Mapping[str, tuple[str, str]]) -> str:
    z = _Z_SCORE.match(name)
    if z:
        side = "above" if value >= 0 else "below"
        return (f"{_label(z['base'], lookup)} is {abs(value):.1f} sd {side} "
                f"its {z['window']}-day usual")
    unit = lookup.get(name, ("", ""))[1]
    fmt = _UNIT_FORMATS.get(unit.lower())
    text = format_value(value, fmt) if fmt else format_value(value, "num")
    if fmt in (None, "count") and unit.lower() not in ("", "nan", "none", "count"):
        text = f"{text} {unit}"
    return f"{_label(name, lookup)}: {text}"


def render_reason(name: str, value: float | None, row: Mapping[str, float] | None = None,
                  lookup: Mapping[str, tuple[str, str]] | None = None) -> str:
    """One reason in plain words for feature ``name`` at ``value`` (NaN reads "... unknown").

    ``row`` is the trader's feature row (unused by the catalog's phrases, kept for callers that
    pass it); ``lookup`` maps a name outside the catalog to its (description, unit).
    """
    if name in PHRASES:
        return PHRASES[name].render(value)
    lookup = lookup or {}
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{_label(name, lookup)}: no data"
    return _fallback(name, float(value), lookup)


def top_reasons(contributions: Mapping[str, float], row: Mapping[str, float],
                catalog: pd.DataFrame | None, n: int = 3) -> list[tuple[str, str]]:
    """The ``n`` features pushing risk up the most, as (feature name, plain-word reason).

    ``contributions``: feature name -> contribution to the risk (positive = more risk; e.g. SHAP
    values on the log-odds of a large loss). Only names present in ``row`` and positive
    contributions are used, so a model's bias term never becomes a reason. ``catalog`` (name,
    description, unit) words the names outside the phrase catalog.
    """
    lookup = _catalog_lookup(catalog)
    ranked = sorted(
        ((float(c), k) for k, c in contributions.items()
         if k in row and c is not None and math.isfinite(float(c)) and float(c) > 0),
        reverse=True,
    )
    return [(k, render_reason(k, row[k], row, lookup)) for _, k in ranked[:n]]
