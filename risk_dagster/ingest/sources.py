"""Trade sources: where raw fills and daily totals come from, one class per source.

Every source yields the canonical rows of the requested dates in chunks (``SourceBatch``), so the
ingest asset validates and stores them the same way whatever their origin:

- ``SimulatorSource``: the embedded simulated firm (deterministic under its seed);
- ``LandingSource``: files already parsed into ``<data>/landing/`` (see ``ingest.inbox``);
- ``PropReportsApiSource``: fills and totals by date pulled per account from the PropReports API.

Domain code only (no Dagster): the Dagster resource ``defs.resources.TradeSource`` holds the
configuration and builds one of these.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from risk_dagster.core.schemas import FILLS, TOTALS
from risk_dagster.ingest import inbox

SOURCE_KINDS = ("simulator", "landing", "propreports_api")


@dataclass
class SourceBatch:
    """Canonical rows of some dates from one source; ``truth`` only from the simulator."""

    dates: list[dt.date]
    fills: pa.Table | pd.DataFrame
    totals: pa.Table | pd.DataFrame
    truth: pa.Table | pd.DataFrame | None


def _chunks(dates: list[dt.date], size: int) -> Iterator[list[dt.date]]:
    ordered = sorted(dates)
    for i in range(0, len(ordered), size):
        yield ordered[i:i + size]


class Source(ABC):
    """One origin of raw trades. ``chunk_sessions``: dates yielded together (bounds memory)."""

    chunk_sessions: int = 20
    has_truth: bool = False

    @abstractmethod
    def iter_batches(self, dates: list[dt.date]) -> Iterator[SourceBatch]:
        """The rows of ``dates`` in chunks of about ``chunk_sessions`` dates."""

    @abstractmethod
    def describe(self) -> str:
        """One line for the run's metadata: what was read."""


class SimulationCache:
    """The batches of one simulated firm, computed once per process while they fit in
    ``max_bytes``.

    A replay ingests one more session each morning, and the firm is always simulated from its
    first day (a date's rows never depend on the range asked): without this, a one-year replay
    simulates the firm ~250 times. Once the batches pass ``max_bytes`` nothing is kept and
    every iteration simulates again in bounded memory, as without a cache. Batches are Arrow
    tables (immutable), so sharing them is safe.
    """

    def __init__(self, config, chunk_sessions: int, max_bytes: int) -> None:
        from risk_dagster.simulator import iter_simulation

        self.config, self.chunk_sessions, self.max_bytes = config, chunk_sessions, max_bytes
        self.batches: list = []
        self.nbytes = 0
        self.disabled = False
        self._gen = iter_simulation(config, chunk_sessions)
        self._done = False
        self._lock = threading.Lock()

    def __iter__(self):
        from risk_dagster.simulator import iter_simulation

        i = 0
        while True:
            with self._lock:
                if self.disabled:
                    break
                if i < len(self.batches):
                    batch = self.batches[i]
                elif self._done:
                    return
                else:
                    batch = next(self._gen, None)
                    if batch is None:
                        self._done = True
                        return
                    self.batches.append(batch)
                    self.nbytes += sum(t.nbytes for t in (batch.fills, batch.totals, batch.truth))
                    if self.nbytes > self.max_bytes:  # too big to keep: back to bounded memory
                        self.disabled, self._gen = True, None
                        self.batches.clear()
            yield batch
            i += 1
        for j, batch in enumerate(iter_simulation(self.config, self.chunk_sessions)):
            if j >= i:
                yield batch


_SIM_CACHE_BYTES = 1 << 30
_sim_cache: SimulationCache | None = None
_sim_cache_lock = threading.Lock()


def cached_simulation(config, chunk_sessions: int) -> SimulationCache:
    """The process's cache of ``config``'s firm (one firm at a time: a new config replaces it)."""
    global _sim_cache
    with _sim_cache_lock:
        cache = _sim_cache
        if cache is None or (cache.config, cache.chunk_sessions) != (config, chunk_sessions):
            cache = _sim_cache = SimulationCache(config, chunk_sessions, _SIM_CACHE_BYTES)
        return cache


@dataclass
class SimulatorSource(Source):
    """The embedded simulated firm; ``config`` is a ``simulator.SimulationConfig``."""

    config: object
    chunk_sessions: int = 20
    has_truth: bool = True

    def describe(self) -> str:
        c = self.config
        return (f"simulated firm: {c.n_traders} traders, seed {c.seed}, "
                f"{c.start}..{c.end}, calendar {c.calendar}")

    def iter_batches(self, dates: list[dt.date]) -> Iterator[SourceBatch]:
        dates = sorted(dates)
        wanted = pa.array(dates, pa.date32())
        # Always simulated from the firm's first day, so a date's rows never depend on the range
        # (computed once per process while it fits in memory: see SimulationCache).
        for batch in cached_simulation(self.config, self.chunk_sessions):
            days = pc.unique(batch.totals["trade_date"]).to_pylist() or \
                pc.unique(batch.truth["trade_date"]).to_pylist()
            if days and min(days) > dates[-1]:
                break
            chunk = [d for d in dates if days and min(days) <= d <= max(days)]
            if not chunk:
                continue

            def keep(table: pa.Table) -> pa.Table:
                return table.filter(pc.is_in(table["trade_date"], value_set=wanted))

            yield SourceBatch(chunk, keep(batch.fills), keep(batch.totals), keep(batch.truth))


@dataclass
class LandingSource(Source):
    """Files landed under ``<data_dir>/landing/`` (by the inbox sensor or ``risk-dagster ingest``)."""

    data_dir: Path
    chunk_sessions: int = 20

    def describe(self) -> str:
        return f"landing zone under {Path(self.data_dir) / inbox.LANDING}"

    def iter_batches(self, dates: list[dt.date]) -> Iterator[SourceBatch]:
        root = Path(self.data_dir)
        for chunk in _chunks(dates, self.chunk_sessions):
            keys = [d.isoformat() for d in chunk]
            yield SourceBatch(chunk, inbox.read_landed(root, "fills", keys),
                              inbox.read_landed(root, "totals", keys), None)


@dataclass
class PropReportsApiSource(Source):
    """Fills and totals by date of ``accounts`` from the PropReports API at ``base_url`` (token
    from the ``token_env_var`` environment variable), parsed like exports on ``calendar``."""

    base_url: str
    accounts: list[str]
    calendar: str
    token_env_var: str = "PROPREPORTS_TOKEN"
    chunk_sessions: int = 20

    def describe(self) -> str:
        return f"PropReports API {self.base_url}, {len(self.accounts)} accounts"

    def iter_batches(self, dates: list[dt.date]) -> Iterator[SourceBatch]:
        for chunk in _chunks(dates, self.chunk_sessions):
            yield self._fetch(chunk)

    def _fetch(self, dates: list[dt.date]) -> SourceBatch:
        """Pull each account's fills and totals for ``dates`` and parse them like exports."""
        from risk_dagster.core.calendar import calendar_timezone
        from risk_dagster.ingest import parse_propreports_fills, parse_propreports_totals
        from risk_dagster.ingest.propreports_api import PropReportsClient

        client = PropReportsClient(self.base_url, token_env_var=self.token_env_var)
        tz = "America/New_York" if self.calendar == "24/7" else calendar_timezone(self.calendar)
        fills, totals = [FILLS.empty()], [TOTALS.empty()]
        with tempfile.TemporaryDirectory(prefix="propreports_") as tmp:
            for account in self.accounts:
                for kind, fetch in (("fills", client.fetch_fills),
                                    ("totals", client.fetch_totals_by_date)):
                    text = fetch(account, dates[0], dates[-1])
                    if not text.strip():
                        continue
                    path = Path(tmp) / f"{kind}_{account}_{dates[0]}_{dates[-1]}.csv"
                    path.write_text(text)
                    if kind == "fills":
                        fills.append(parse_propreports_fills(path, calendar=self.calendar, timezone=tz))
                    else:
                        totals.append(parse_propreports_totals(path, account=account))

        def on_dates(frames: list[pd.DataFrame]) -> pd.DataFrame:
            frame = pd.concat(frames, ignore_index=True)
            return frame[frame["trade_date"].isin(set(dates))]

        return SourceBatch(dates, on_dates(fills), on_dates(totals), None)
