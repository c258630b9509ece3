"""The feature catalog: one documented row per feature column that ``build_features`` produces.

Each feature module declares its ``SPECS`` (a list of ``FeatureSpec``) next to the code that
computes the columns; this module gathers them in build order.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

import pandas as pd

from risk_dagster.features.phrases import phrase_for

CATALOG_COLUMNS = ["name", "category", "description", "window", "unit"]


@dataclass(frozen=True)
class FeatureSpec:
    """name: the column; category: performance | activity | execution | behaviour | market |
    cross; window: e.g. '21 traded days', '21 sessions', 'D', 'expanding'; unit: USD, count..."""

    name: str
    category: str
    description: str
    window: str
    unit: str


def all_specs() -> list[FeatureSpec]:
    # Imported here so that the feature modules can import FeatureSpec from this module.
    from risk_dagster.features import activity, behaviour, cross, market, performance

    return [*performance.SPECS, *activity.SPECS, *behaviour.SPECS, *market.SPECS, *cross.SPECS]


def feature_catalog() -> pd.DataFrame:
    """One row per feature column of ``build_features``: name, category, description, window,
    unit, in column order, and ``phrase``: the template its reasons read with
    (``risk_dagster.features.phrases``; {v} is the value, {n} a count with its noun)."""
    frame = pd.DataFrame([astuple(s) for s in all_specs()], columns=CATALOG_COLUMNS)
    frame["phrase"] = [phrase_for(n).above for n in frame["name"]]
    return frame
