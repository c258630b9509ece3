"""The firm's fee schedule: a deterministic function of a fill's qty, side, liquidity and notional.

Components follow the PropReports columns (USD, cost > 0, a rebate < 0); each is rounded to 1/100
of a cent and the canonical ``fees`` of a fill is the sum of the rounded components, so an export
that writes the components reproduces ``fees`` exactly.
"""

from __future__ import annotations

import numpy as np

FEE_COLUMNS = ("Comm", "Ecn Fee", "SEC", "ORF", "CAT", "TAF", "FTT", "NSCC", "Acc", "Clr", "Misc")

COMMISSION_PER_SHARE = 0.0035
ECN_REMOVE_PER_SHARE = 0.0030  # taker fee
ECN_ADD_PER_SHARE = -0.0020  # maker rebate
SEC_RATE = 27.80e-6  # USD per USD of sell notional
TAF_PER_SHARE, TAF_CAP = 0.000166, 8.30  # sells only, capped per fill
CAT_PER_SHARE = 0.000035
NSCC_PER_FILL = 0.0015
CLEARING_PER_SHARE = 0.0002


def fee_components(qty: np.ndarray, notional: np.ndarray, is_sell: np.ndarray,
                   is_add: np.ndarray) -> dict[str, np.ndarray]:
    """Fee components (USD per fill) keyed by PropReports column name.

    qty: shares; notional: USD; is_sell/is_add: bool arrays (a short sale is a sell).
    """
    qty = np.asarray(qty, dtype=float)
    zero = np.zeros_like(qty)
    sell = np.asarray(is_sell, dtype=bool)
    comps = {
        "Comm": COMMISSION_PER_SHARE * qty,
        "Ecn Fee": np.where(is_add, ECN_ADD_PER_SHARE, ECN_REMOVE_PER_SHARE) * qty,
        "SEC": np.where(sell, SEC_RATE * np.asarray(notional, dtype=float), 0.0),
        "ORF": zero,
        "CAT": CAT_PER_SHARE * qty,
        "TAF": np.where(sell, np.minimum(TAF_PER_SHARE * qty, TAF_CAP), 0.0),
        "FTT": zero,
        "NSCC": zero + NSCC_PER_FILL,
        "Acc": zero,
        "Clr": CLEARING_PER_SHARE * qty,
        "Misc": zero,
    }
    return {k: np.round(v, 4) for k, v in comps.items()}


def total_fees(qty: np.ndarray, notional: np.ndarray, is_sell: np.ndarray,
               is_add: np.ndarray) -> np.ndarray:
    """Canonical ``fees`` (USD per fill): the sum of the rounded components, in column order."""
    comps = fee_components(qty, notional, is_sell, is_add)
    out = np.zeros(np.shape(qty), dtype=float)
    for name in FEE_COLUMNS:
        out = out + comps[name]
    return out
