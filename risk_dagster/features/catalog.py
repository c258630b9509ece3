"""The feature catalog: one documented row per feature column that ``build_features`` produces.

Each feature module declares its ``SPECS`` (a list of ``features.spec.FeatureSpec``) next to
the code that computes the columns; this module lists the modules once, in build order.
"""

from __future__ import annotations

from dataclasses import astuple

import pandas as pd

from risk_dagster.features import activity, behaviour, cross, market, performance
from risk_dagster.features.phrases import phrase_for
from risk_dagster.features.spec import FeatureSpec

# The feature modules in build order: behaviour, market and cross use features of the modules
# before them. Each has ``SPECS`` and ``compute(rows, feats)``.
FEATURE_MODULES = (performance, activity, behaviour, market, cross)
CATALOG_COLUMNS = ["name", "category", "description", "window", "unit"]


def all_specs() -> list[FeatureSpec]:
    """Every feature's spec, in build (and column) order."""
    return [spec for module in FEATURE_MODULES for spec in module.SPECS]


def feature_catalog() -> pd.DataFrame:
    """One row per feature column of ``build_features``: name, category, description, window,
    unit, in column order, and ``phrase``: the template its reasons read with
    (``risk_dagster.features.phrases``; {v} is the value, {n} a count with its noun)."""
    frame = pd.DataFrame([astuple(s) for s in all_specs()], columns=CATALOG_COLUMNS)
    frame["phrase"] = [phrase_for(n).above for n in frame["name"]]
    return frame
