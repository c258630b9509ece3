"""From a source's canonical rows to the ``raw_fills``/``raw_totals`` partitions of some dates.

Validates (see ``partition_checks``) and fills in daily totals derived from the fills for every
(date, trader) that traded but has no reported totals — a source without totals (a crypto
venue) gets all its totals derived, and says so (``derived`` column and metadata). Works on
Arrow tables so that millions of fills per second go through.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from risk_dagster.core.calendar import sessions
from risk_dagster.core.lake import Lake
from risk_dagster.core.prefetch import prefetched
from risk_dagster.core.schemas import FILLS, GROUND_TRUTH, TOTALS, TableSchema
from risk_dagster.core.tables import sort_by_date, split_by_date
from risk_dagster.ingest.partition_checks import (
    CheckOutcome,
    blocking_failures,
    check_fills,
    check_totals,
    reconcile_fifo_pnl,
    reconcile_totals,
)
from risk_dagster.ingest.fifo import FifoLedger
from risk_dagster.ingest.partition_checks import FIFO_PNL_TOL_USD

# Positions open before a run's first date: the FIFO lots stored at the close of the last run
# (``FIFO_LOTS``, exact when that run's own opening was), rolled forward over the stored fills
# since; without them, rebuilt from the stored fills of this many calendar days before the first
# date, taken as flat at the start of that window (a position open across that start then shows
# as a reconciliation difference naming the trader-day, so those lots are not stored).
CARRY_LOOKBACK_DAYS = 30
FIFO_LOTS = "fifo_lots"  # lake folder: the FIFO lots open at the close of a run's last date


WRITER_THREADS = 2


@dataclass
class RawPartitions:
    fills: pa.Table
    totals: pa.Table
    outcomes: list[CheckOutcome]
    derived_totals: int  # (date, trader) rows whose totals were derived from fills


def to_canonical(frame: pa.Table | pd.DataFrame, schema: TableSchema) -> pa.Table:
    if isinstance(frame, pd.DataFrame):
        return schema.to_arrow(frame)
    return schema.select_arrow(frame)


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
                           dates: list[dt.date], calendar: str, *,
                           ledger: FifoLedger | None = None,
                           pnl_tol_usd: float = FIFO_PNL_TOL_USD) -> RawPartitions:
    """Validate ``fills``/``totals`` for ``dates`` and complete the totals.

    ``ledger`` holds the positions open before these fills (FIFO lots, see ``ingest.fifo``) and
    is advanced through them; reported gross P&L must match the fills' FIFO realized P&L within
    ``pnl_tol_usd`` per trader-day (a blocking check). Blocking failures are reported in
    ``outcomes``; the caller must not store the data then. The tables come back ordered by
    trade_date.
    """
    wanted = set(dates)
    outcomes = check_fills(fills, wanted, calendar)
    if blocking_failures(outcomes):
        return RawPartitions(fills, totals, outcomes, 0)
    fills = sort_by_date(to_canonical(fills, FILLS))
    totals, n_derived = complete_totals(fills, to_canonical(totals, TOTALS))
    outcomes += check_totals(totals, wanted)
    if not blocking_failures(outcomes):
        outcomes.append(reconcile_totals(fills, totals))
        outcomes.append(reconcile_fifo_pnl(fills, totals, ledger, tol_usd=pnl_tol_usd))
    return RawPartitions(fills, sort_by_date(totals), outcomes, n_derived)


def _read_fills(lake: Lake, keys: list[str]) -> pa.Table | None:
    if not keys:
        return None
    files = [str(lake.partition_path("raw_fills", "date", k)) for k in keys]
    con = duckdb.connect()
    try:
        rel = con.read_parquet(files, union_by_name=True)
        mult = "multiplier" if "multiplier" in rel.columns else "1.0 AS multiplier"
        return rel.project(f"trade_date, ts, trader_id, symbol, side, qty, price, fees, "
                           f"{mult}").to_arrow_table()
    finally:
        con.close()


def opening_ledger(lake: Lake, first: dt.date, lookback_days: int = CARRY_LOOKBACK_DAYS,
                   calendar: str | None = None) -> tuple[FifoLedger, bool]:
    """(FIFO lots open at the start of ``first``, whether they are exact).

    From the lots stored at the close of the latest date before ``first`` (``FIFO_LOTS``) and
    the stored raw_fills after it: exact when every session between them (``calendar``) is
    stored. Otherwise rebuilt from the raw_fills of the ``lookback_days`` calendar days before
    ``first``, flat at the start of that window: exact only when nothing is stored before it.
    """
    day = first.isoformat()
    fill_keys = lake.keys("raw_fills", "date")
    stored = [k for k in lake.keys(FIFO_LOTS, "date") if k < day]
    if stored:
        since = stored[-1]
        between = [k for k in fill_keys if since < k < day]
        expected = set() if calendar is None else {
            d.date().isoformat() for d in sessions(calendar, dt.date.fromisoformat(since)
                                                   + dt.timedelta(days=1),
                                                   first - dt.timedelta(days=1))}
        if calendar is not None and expected <= set(between):
            ledger = FifoLedger.from_table(lake.read(FIFO_LOTS, "date", [since]))
            history = _read_fills(lake, between)
            if history is not None:
                ledger.defer(history)  # matched only if a chunk has reported totals
            return ledger, True
    lo = (first - dt.timedelta(days=lookback_days)).isoformat()
    ledger = FifoLedger()
    history = _read_fills(lake, [k for k in fill_keys if lo <= k < day])
    if history is not None:
        ledger.defer(history)
    return ledger, not any(k < lo for k in fill_keys)


class BlockingCheckFailure(Exception):
    """Raised by ``ingest_batches`` when a chunk fails a blocking check; nothing was stored."""

    def __init__(self, failed: list[CheckOutcome]):
        self.failed = failed
        super().__init__("raw data failed blocking checks: "
                         + "; ".join(f"{o.name}: {o.detail}" for o in failed))


class IngestStats:
    """Totals over the chunks of one ingestion, and the worst outcome of each check."""

    def __init__(self):
        self.fills = self.totals = self.derived = self.truth = 0
        self.net_pnl = 0.0
        self.traders: set[str] = set()
        self.fill_dates: set = set()
        self.outcomes: dict[str, CheckOutcome] = {}

    def add(self, raw: RawPartitions, truth: pa.Table | None) -> None:
        self.fills += raw.fills.num_rows
        self.totals += raw.totals.num_rows
        self.derived += raw.derived_totals
        self.truth += 0 if truth is None else truth.num_rows
        self.net_pnl += float(pc.sum(raw.totals["net_pnl"]).as_py() or 0.0)
        self.traders.update(pc.unique(raw.fills["trader_id"]).to_pylist())
        self.fill_dates.update(pc.unique(raw.fills["trade_date"]).to_pylist())
        for o in raw.outcomes:
            seen = self.outcomes.get(o.name)
            if seen is None or (seen.passed and not o.passed):
                self.outcomes[o.name] = o
            elif not o.passed:
                self.outcomes[o.name] = CheckOutcome(o.name, False, o.blocking, o.detail,
                                                     seen.failures + o.failures, seen.examples)


def _stage_dates(writer: "_Writer", dates, fills, totals, truth) -> None:
    tables = {"raw_fills": fills, "raw_totals": totals}
    if truth is not None:
        tables["ground_truth"] = truth.sort_by([("trade_date", "ascending"), ("trader_id", "ascending")])
    for asset, table in tables.items():
        for day, part in split_by_date(table, dates).items():
            writer.submit(asset, day, part)


class _Writer:
    """Writes staged partitions on background threads (Parquet encoding releases the GIL), so
    one chunk's files are written while the next chunk is checked; ``close`` waits and raises
    the first write error."""

    def __init__(self, stage: Lake):
        self.stage, self.pool, self.futures = stage, ThreadPoolExecutor(WRITER_THREADS), []

    def submit(self, asset: str, day: dt.date, part: pa.Table) -> None:
        self.futures.append(self.pool.submit(self.stage.write, asset, "date", day.isoformat(), part))

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        for future in self.futures:
            future.result()


def ingest_batches(batches: Iterable, lake: Lake, dates: list[dt.date], calendar: str, *,
                   with_truth: bool, pnl_tol_usd: float = FIFO_PNL_TOL_USD,
                   lookback_days: int = CARRY_LOOKBACK_DAYS) -> IngestStats:
    """Validate and store the raw partitions of ``dates`` from a source's chunks.

    ``batches`` yields objects with ``dates``, ``fills``, ``totals`` and ``truth`` (one chunk of
    dates each). Every partition is staged and replaces the stored one only when all chunks pass
    the blocking checks; otherwise BlockingCheckFailure is raised and the lake is unchanged.
    Dates no chunk covers (closed sessions, days outside the source) become empty partitions,
    so a re-run also clears rows a date no longer has. Positions carried into the first date are
    rebuilt from the ``lookback_days`` before it, then carried from chunk to chunk, for the
    FIFO reconciliation of reported gross P&L (``pnl_tol_usd`` per trader-day).
    """
    stats = IngestStats()
    ledger, exact = opening_ledger(lake, min(dates), lookback_days, calendar) if dates \
        else (FifoLedger(), False)
    covered: set[dt.date] = set()
    with lake.staged() as stage:
        writer = _Writer(stage)
        try:
            with closing(prefetched(batches)) as chunks:  # no read left running on a failure
                for batch in chunks:
                    raw = prepare_raw_partitions(batch.fills, batch.totals, batch.dates, calendar,
                                                 ledger=ledger, pnl_tol_usd=pnl_tol_usd)
                    failed = blocking_failures(raw.outcomes)
                    if failed:
                        raise BlockingCheckFailure(failed)
                    truth = (None if batch.truth is None
                             else to_canonical(batch.truth, GROUND_TRUTH))
                    _stage_dates(writer, batch.dates, raw.fills, raw.totals, truth)
                    stats.add(raw, truth)
                    covered.update(batch.dates)
            _stage_dates(writer, [d for d in dates if d not in covered], FILLS.arrow.empty_table(),
                         TOTALS.arrow.empty_table(),
                         GROUND_TRUTH.arrow.empty_table() if with_truth else None)
        except BaseException:
            writer.pool.shutdown(wait=True)  # let writes end before the staging is removed
            raise
        writer.close()  # every write done, or its error raised, before the staging commits
        if exact:  # the lots at the last date's close open the next run (the next morning)
            stage.write(FIFO_LOTS, "date", max(dates).isoformat(), ledger.to_table())
    if dates:  # lots stored at or after a re-ingested date no longer follow the stored fills
        kept = max(dates).isoformat() if exact else None
        for key in lake.keys(FIFO_LOTS, "date"):
            if key >= min(dates).isoformat() and key != kept:
                lake.delete(FIFO_LOTS, "date", key)
    return stats
