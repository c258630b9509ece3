"""Resources, wired in one place (``definitions.py`` picks them from the settings)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd

from risk_dagster.core.lake import Lake
from risk_dagster.core.schemas import FILLS, GROUND_TRUTH, TOTALS
from risk_dagster.ingest import inbox

SOURCE_KINDS = ("simulator", "landing")


class LakeResource(dg.ConfigurableResource):
    """The Parquet lake under the data directory."""

    data_dir: str

    @property
    def root(self) -> Path:
        return Path(self.data_dir)

    @property
    def lake(self) -> Lake:
        return Lake(self.root)


@dataclass
class SourceBatch:
    """Canonical rows of some dates from one source; ``truth`` only from the simulator."""

    fills: pd.DataFrame
    totals: pd.DataFrame
    truth: pd.DataFrame | None
    description: str


class TradeSource(dg.ConfigurableResource):
    """Where raw fills and totals come from.

    ``simulator``: the embedded simulated firm (deterministic under ``sim_seed``).
    ``landing``: files dropped in ``<data>/inbox/<source>/`` and landed by ``inbox_sensor``.
    """

    kind: str = "simulator"
    data_dir: str
    calendar: str = "XNYS"
    sim_traders: int = 40
    sim_seed: int = 7
    sim_start: str = "2024-01-02"
    sim_end: str = "2025-12-31"

    def simulation_config(self):
        from risk_dagster.simulator import SimulationConfig

        return SimulationConfig(
            n_traders=self.sim_traders, seed=self.sim_seed, calendar=self.calendar,
            start=dt.date.fromisoformat(self.sim_start), end=dt.date.fromisoformat(self.sim_end),
        )

    def fetch(self, dates: list[dt.date]) -> SourceBatch:
        if self.kind == "simulator":
            return self._fetch_simulated(dates)
        if self.kind == "landing":
            keys = [d.isoformat() for d in dates]
            return SourceBatch(
                fills=inbox.read_landed(Path(self.data_dir), "fills", keys),
                totals=inbox.read_landed(Path(self.data_dir), "totals", keys),
                truth=None,
                description=f"landing zone under {Path(self.data_dir) / inbox.LANDING}",
            )
        raise ValueError(f"unknown source kind {self.kind!r}; expected one of {SOURCE_KINDS}")

    def _fetch_simulated(self, dates: list[dt.date]) -> SourceBatch:
        from risk_dagster.simulator import simulate

        cfg = self.simulation_config()
        lo, hi = max(min(dates), cfg.start), min(max(dates), cfg.end)
        if lo > hi:  # the requested dates are outside the simulated period
            return SourceBatch(FILLS.empty(), TOTALS.empty(), GROUND_TRUTH.empty(),
                               "simulated firm (no sessions in range)")
        batch = simulate(cfg, start=lo, end=hi)
        wanted = set(dates)

        def keep(table):
            frame = table.to_pandas()
            return frame[frame["trade_date"].isin(wanted)].reset_index(drop=True)

        return SourceBatch(keep(batch.fills), keep(batch.totals), keep(batch.truth),
                           f"simulated firm: {cfg.n_traders} traders, seed {cfg.seed}, "
                           f"{cfg.start}..{cfg.end}, calendar {cfg.calendar}")
