"""``FeatureSpec``: the documentation row of one feature column (a leaf module: every feature
module imports it, and it imports none of them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeatureSpec:
    """name: the column; category: performance | activity | execution | behaviour | market |
    cross; window: e.g. '21 traded days', '21 sessions', 'D', 'expanding'; unit: USD, count..."""

    name: str
    category: str
    description: str
    window: str
    unit: str
