"""Build the point-in-time feature table from the trader-day panel.

Every feature at (D, trader) is computed from panel rows with ``trade_date <= D`` only: per-trader
windows look back over the trader's own rows, firm-wide values over dates up to D, and large-loss
thresholds over data strictly before each day. ``risk_dagster_tests/features`` checks this by
changing the panel after D and comparing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from risk_dagster.features.catalog import FEATURE_MODULES, all_specs
from risk_dagster.features.grouped import TraderRows
from risk_dagster.features.thresholds import output_order

KEYS = ["trade_date", "trader_id"]


def build_features(panel: pd.DataFrame) -> pd.DataFrame:
    """The trader_features table.

    In: the trader-day panel (one row per trade_date x trader on the roster; columns of the
    trader_day_panel contract). Out: one row per panel row, sorted by (trade_date, trader_id):
    ``trade_date``, ``trader_id``, then the float64 feature columns of ``feature_catalog()`` in
    catalog order (units in the catalog). NaN means "not known at D" (not zero).
    """
    tr = TraderRows(panel)
    feats: dict[str, np.ndarray] = {}
    for module in FEATURE_MODULES:
        module.compute(tr, feats)
    names = [s.name for s in all_specs()]
    produced = [k for k in feats if not k.startswith("_")]
    if sorted(produced) != sorted(names):
        raise RuntimeError(f"features and catalog differ: "
                           f"{sorted(set(produced) ^ set(names))}")
    # Reorder each column into the output order and fill one float block: no frame-wide copy.
    order = output_order(tr)
    block = np.empty((len(names), tr.n))
    for j, name in enumerate(names):
        block[j] = feats.pop(name)[order]
    out = pd.DataFrame(block.T, columns=names, copy=False)
    for pos, key in enumerate(KEYS):
        out.insert(pos, key, tr.frame[key].to_numpy()[order])
    return out
