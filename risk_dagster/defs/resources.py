"""Resources, wired in one place (``definitions.py`` picks them from the settings)."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from risk_dagster.core.lake import Lake
from risk_dagster.core.schemas import FILLS, TOTALS
from risk_dagster.ingest import inbox

SOURCE_KINDS = ("simulator", "landing", "propreports_api")


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

    dates: list[dt.date]
    fills: pa.Table | pd.DataFrame
    totals: pa.Table | pd.DataFrame
    truth: pa.Table | pd.DataFrame | None


class TradeSource(dg.ConfigurableResource):
    """Where raw fills and totals come from.

    ``simulator``: the embedded simulated firm (deterministic under ``sim_seed``).
    ``landing``: files dropped in ``<data>/inbox/<source>/`` and landed by ``inbox_sensor``.
    ``propreports_api``: fills and totals by date pulled for ``api_accounts`` from the PropReports
    API at ``api_base_url`` (token from the ``api_token_env_var`` environment variable).
    """

    kind: str = "simulator"
    data_dir: str
    calendar: str = "XNYS"
    sim_traders: int = 40
    sim_seed: int = 7
    sim_start: str = "2024-01-02"
    sim_end: str = "2025-12-31"
    # changes injected into the simulated firm, to test drift detection:
    # "YYYY-MM-DD:trader_behaviour:T0001+T0002" or "YYYY-MM-DD:market_regime"
    sim_changes: list[str] = []
    chunk_sessions: int = 20  # dates processed together: bounds memory on long backfills
    api_base_url: str | None = None
    api_accounts: list[str] = []
    api_token_env_var: str = "PROPREPORTS_TOKEN"

    def simulation_config(self):
        from risk_dagster.simulator import InjectedChange, SimulationConfig

        changes = []
        for spec in self.sim_changes:
            day, kind, *who = spec.split(":")
            traders = tuple(who[0].split("+")) if who and who[0] else ()
            changes.append(InjectedChange(dt.date.fromisoformat(day), kind, trader_ids=traders))
        return SimulationConfig(
            n_traders=self.sim_traders, seed=self.sim_seed, calendar=self.calendar,
            start=dt.date.fromisoformat(self.sim_start), end=dt.date.fromisoformat(self.sim_end),
            changes=tuple(changes),
        )

    def describe(self) -> str:
        if self.kind == "simulator":
            return (f"simulated firm: {self.sim_traders} traders, seed {self.sim_seed}, "
                    f"{self.sim_start}..{self.sim_end}, calendar {self.calendar}")
        if self.kind == "propreports_api":
            return f"PropReports API {self.api_base_url}, {len(self.api_accounts)} accounts"
        return f"landing zone under {Path(self.data_dir) / inbox.LANDING}"

    def iter_batches(self, dates: list[dt.date]) -> Iterator[SourceBatch]:
        """The rows of ``dates`` in chunks of about ``chunk_sessions`` dates (bounded memory)."""
        chunk_sessions = self.chunk_sessions
        if self.kind == "simulator":
            yield from self._simulated(sorted(dates), chunk_sessions)
        elif self.kind == "landing":
            ordered = sorted(dates)
            for i in range(0, len(ordered), chunk_sessions):
                chunk = ordered[i:i + chunk_sessions]
                keys = [d.isoformat() for d in chunk]
                yield SourceBatch(chunk, inbox.read_landed(Path(self.data_dir), "fills", keys),
                                  inbox.read_landed(Path(self.data_dir), "totals", keys), None)
        elif self.kind == "propreports_api":
            ordered = sorted(dates)
            for i in range(0, len(ordered), chunk_sessions):
                yield self._from_api(ordered[i:i + chunk_sessions])
        else:
            raise ValueError(f"unknown source kind {self.kind!r}; expected one of {SOURCE_KINDS}")

    def _from_api(self, dates: list[dt.date]) -> SourceBatch:
        """Pull each account's fills and totals for ``dates`` and parse them like exports."""
        from risk_dagster.core.calendar import calendar_timezone
        from risk_dagster.ingest import (
            parse_propreports_fills,
            parse_propreports_totals,
        )
        from risk_dagster.ingest.propreports_api import PropReportsApi

        api = PropReportsApi(base_url=self.api_base_url or "", token_env_var=self.api_token_env_var)
        tz = "America/New_York" if self.calendar == "24/7" else calendar_timezone(self.calendar)
        fills, totals = [FILLS.empty()], [TOTALS.empty()]
        with tempfile.TemporaryDirectory(prefix="propreports_") as tmp:
            for account in self.api_accounts:
                for kind, fetch in (("fills", api.fetch_fills), ("totals", api.fetch_totals_by_date)):
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

    def _simulated(self, dates: list[dt.date], chunk_sessions: int) -> Iterator[SourceBatch]:
        from risk_dagster.simulator import iter_simulation

        wanted = pa.array(dates, pa.date32())
        # Always simulated from the firm's first day, so a date's rows never depend on the range.
        for batch in iter_simulation(self.simulation_config(), chunk_sessions):
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


def _overrides(resource: dg.ConfigurableResource, exclude: tuple[str, ...] = ()) -> dict:
    """The fields a user set (None means: keep the domain config's documented default, so each
    default lives in one place)."""
    return {k: v for k, v in resource.model_dump().items() if v is not None and k not in exclude}


class ModelSettings(dg.ConfigurableResource):
    """Training knobs a user may tune from the UI; unset ones keep TrainingConfig's defaults.

    optuna_storage: None (memory), ``journal:<path>`` or a database URL. cutoff: the last label
    date (YYYY-MM-DD) the serving fit may use. workers: processes training traders in parallel.
    """

    n_trials: int | None = None
    pooled_n_trials: int | None = None
    n_folds: int | None = None
    timeout_s: float | None = None
    min_train_sessions: int | None = None
    optuna_storage: str | None = None
    cutoff: str | None = None
    workers: int = 2

    def training_config(self):
        from risk_dagster.models import TrainingConfig

        values = _overrides(self, exclude=("workers",))
        if "cutoff" in values:
            values["cutoff"] = dt.date.fromisoformat(values["cutoff"])
        return TrainingConfig(**values)


class RecommendationSettings(dg.ConfigurableResource):
    """The thresholds a risk manager tunes most; unset ones keep RecommendationConfig's defaults
    (documented there). ``periods_per_year`` follows the calendar (set in definitions.py)."""

    default_capital_usd: float | None = None
    firm_capital_usd: float | None = None
    kill_switch_share: float | None = None
    kill_switch_usd: float | None = None
    firm_loss_share: float | None = None
    sharpe_min: float | None = None
    loss_streak_reduce: int | None = None
    p_warn: float | None = None
    p_reduce: float | None = None
    p_close_only: float | None = None
    max_model_age_days: int | None = None
    periods_per_year: int | None = None

    def to_config(self):
        from risk_dagster.recommendations import RecommendationConfig

        return RecommendationConfig(**_overrides(self))


class MonitoringSettings(dg.ConfigurableResource):
    """Drift thresholds a user may tune; unset ones keep MonitoringConfig's defaults.

    engine: ``scipy`` computes the same KS p-values as Evidently in ~1/100 of the time (tested in
    risk_dagster_tests/monitoring); the Evidently HTML report is always written for drifted
    traders. ``evidently`` runs Evidently for every trader (about 2-4 s each).
    """

    alpha: float | None = None
    cooldown_sessions: int | None = None
    engine: str = "scipy"

    def config(self):
        from risk_dagster.monitoring import MonitoringConfig

        return MonitoringConfig(**_overrides(self, exclude=("engine",)))
