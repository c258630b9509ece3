"""From a source's canonical rows to the ``raw_fills``/``raw_totals`` partitions of some dates.

Validates (see ``partition_checks``) and fills in daily totals derived from the fills for every
(date, trader) that traded but has no reported totals — a source without totals (a crypto
venue) gets all its totals derived, and says so (``derived`` column and metadata). Works on
Arrow tables so that millions of fills per second go through.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from risk_dagster.core.schemas import FILLS, TOTALS, TableSchema
from risk_dagster.ingest.partition_checks import (
    CheckOutcome,
    blocking_failures,
    check_fills,
    check_totals,
    reconcile_totals,
)


@dataclass
class RawPartitions:
    fills: pa.Table
    totals: pa.Table
    outcomes: list[CheckOutcome]
    derived_totals: int  # (date, trader) rows whose totals were derived from fills


def to_canonical(frame: pa.Table | pd.DataFrame, schema: TableSchema) -> pa.Table:
    if isinstance(frame, pd.DataFrame):
        return schema.to_arrow(frame)
    return frame.select(schema.names).cast(schema.arrow)


def complete_totals(fills: pa.Table, totals: pa.Table) -> tuple[pa.Table, int]:
    """Reported totals plus derived totals for traded (date, trader) pairs that have none."""
    from risk_dagster.ingest import derive_totals

    con = duckdb.connect()
    con.register("f", fills)
    con.register("t", totals)
    missing = con.sql("SELECT f.* FROM f ANTI JOIN t USING (trade_date, trader_id)").to_arrow_table()
    if missing.num_rows == 0:
        return totals, 0
    derived = TOTALS.to_arrow(derive_totals(missing.to_pandas()))
    return pa.concat_tables([totals, derived]), derived.num_rows


def prepare_raw_partitions(fills: pa.Table | pd.DataFrame, totals: pa.Table | pd.DataFrame,
                           dates: list[dt.date], calendar: str) -> RawPartitions:
    """Validate ``fills``/``totals`` for ``dates`` and complete the totals.

    Blocking failures are reported in ``outcomes``; the caller must not store the data then.
    The tables come back sorted by (trade_date, trader_id[, ts]).
    """
    wanted = set(dates)
    outcomes = check_fills(fills, wanted, calendar)
    if blocking_failures(outcomes):
        return RawPartitions(fills, totals, outcomes, 0)
    fills = to_canonical(fills, FILLS).sort_by(
        [("trade_date", "ascending"), ("trader_id", "ascending"), ("ts", "ascending")])
    totals, n_derived = complete_totals(fills, to_canonical(totals, TOTALS))
    outcomes += check_totals(totals, wanted)
    if not blocking_failures(outcomes):
        outcomes.append(reconcile_totals(fills, totals))
    totals = totals.sort_by([("trade_date", "ascending"), ("trader_id", "ascending")])
    return RawPartitions(fills, totals, outcomes, n_derived)


def split_by_date(table: pa.Table, dates: list[dt.date]) -> dict[dt.date, pa.Table]:
    """One slice per date of a table sorted by ``trade_date`` (dates without rows get empty ones)."""
    days = table["trade_date"].to_numpy(zero_copy_only=False).astype("datetime64[D]")
    keys = np.array(dates, dtype="datetime64[D]")
    lo = np.searchsorted(days, keys, side="left")
    hi = np.searchsorted(days, keys, side="right")
    return {d: table.slice(int(a), int(b - a)) for d, a, b in zip(dates, lo, hi, strict=True)}
