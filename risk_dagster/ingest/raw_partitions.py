"""From a source's canonical rows to the ``raw_fills``/``raw_totals`` partitions of some dates.

Validates (see ``partition_checks``) and fills in daily totals derived from the fills for every
(date, trader) that traded but has no reported totals — a source without totals (a crypto
venue) gets all its totals derived, and says so (``derived`` column and metadata).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from risk_dagster.core.schemas import FILLS, TOTALS
from risk_dagster.ingest.partition_checks import (
    CheckOutcome,
    check_fills,
    check_totals,
    reconcile_totals,
)


@dataclass
class RawPartitions:
    fills: pd.DataFrame
    totals: pd.DataFrame
    outcomes: list[CheckOutcome]
    derived_totals: int  # (date, trader) rows whose totals were derived from fills


def complete_totals(fills: pd.DataFrame, totals: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Reported totals plus derived totals for traded (date, trader) pairs that have none."""
    from risk_dagster.ingest import derive_totals

    if fills.empty:
        return TOTALS.conform(totals), 0
    have = pd.MultiIndex.from_frame(totals[["trade_date", "trader_id"]])
    traded = pd.MultiIndex.from_frame(fills[["trade_date", "trader_id"]])
    missing = ~traded.isin(have)
    if not missing.any():
        return TOTALS.conform(totals), 0
    derived = derive_totals(fills[missing])
    both = pd.concat([TOTALS.conform(totals), TOTALS.conform(derived)], ignore_index=True)
    return both, len(derived)


def prepare_raw_partitions(fills: pd.DataFrame, totals: pd.DataFrame, dates: list[dt.date],
                           calendar: str) -> RawPartitions:
    """Validate ``fills``/``totals`` for ``dates`` and complete the totals.

    Blocking failures are reported in ``outcomes`` (the caller must not store the data then).
    """
    wanted = set(dates)
    outcomes = check_fills(fills, wanted, calendar)
    if any(o.blocking and not o.passed for o in outcomes):
        return RawPartitions(fills, totals, outcomes, 0)
    fills = FILLS.conform(fills).sort_values(["trade_date", "trader_id", "ts"], kind="stable")
    full_totals, n_derived = complete_totals(fills, totals)
    outcomes += check_totals(full_totals, wanted)
    if not any(o.blocking and not o.passed for o in outcomes):
        outcomes.append(reconcile_totals(fills, full_totals))
    full_totals = full_totals.sort_values(["trade_date", "trader_id"], kind="stable")
    return RawPartitions(fills.reset_index(drop=True), full_totals.reset_index(drop=True),
                         outcomes, n_derived)
