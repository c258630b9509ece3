"""One source of truth for the settings a user may tune.

Values come from environment variables (prefix ``RISK_``) so that the Dagster UI, the CLI, the
tests and the benches all read the same thing. Thresholds that belong to a single stage (model
training, recommendations) live in that stage's typed config; this module holds what the whole
pipeline shares: where the data is, which calendar defines a trading day, where history starts,
and what the embedded simulated firm looks like.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CALENDAR = "XNYS"
DEFAULT_REPORTS_PORT = 3001  # beside the Dagster UI's 3000
CALENDAR_24_7 = "24/7"


@dataclass(frozen=True)
class Settings:
    """Pipeline-wide settings.

    data_dir: root of the Parquet lake, the inbox and the Dagster instance.
    calendar: an exchange-calendars code (``XNYS``) or ``24/7`` for venues that never close.
    start_date: first partition of every date-partitioned asset.
    scoring_start_date: the first session the desk expects scores and recommendations for (the
        go-live date, ``RISK_SCORING_START``): risk_scores and trade_recommendations have
        partitions from there on, so a date reads "missing" only if it should have been scored.
        None: the simulated firm's last session (the one ``demo`` scores), or ``start_date`` for
        landed exports (every session; set it to your go-live date).
    source: where ``raw_fills``/``raw_totals`` come from: ``simulator`` (the embedded firm) or
        ``landing`` (files dropped in ``<data>/inbox/<source>/`` or pulled from an API).
    instance: the Dagster instance profile: ``local`` (SQLite under DAGSTER_HOME) or ``postgres``
        (deploy/dagster.postgres.yaml, connection from ``RISK_PG_*``; see risk_dagster/instance.py).
    sim_*: the embedded simulated firm; ``sim_changes`` injects changes to test drift detection
        (``RISK_SIM_CHANGES="2025-06-02:trader_behaviour:T0003+T0007,2025-09-01:market_regime"``).
    notify / webhook_url: notifications to the desk, off unless ``RISK_NOTIFY=1``
        (``RISK_WEBHOOK_URL``: a Slack-compatible webhook).
    log_level: console log level of runs started by the CLI (every event stays in the run log).
    dask_scheduler: address of a Dask scheduler (``tcp://host:8786``) to train traders on;
        None trains them in a local process pool (``RISK_DASK_SCHEDULER``).
    reports_url: where the report server (``risk-dagster reports``, started by ``risk-dagster
        dev``) serves ``<data>/reports`` and ``<data>/live``; asset metadata links reports there.
    contracts_file: the firm's futures contracts YAML (``RISK_CONTRACTS``, ``ingest
        --contracts``), extending or overriding the shipped CME table for every mapping; a
        mapping's own ``contracts:`` file wins over it for that mapping (ingest/contracts.py).
    """

    data_dir: Path = Path("data")
    calendar: str = DEFAULT_CALENDAR
    start_date: dt.date = dt.date(2024, 1, 2)
    scoring_start_date: dt.date | None = None
    source: str = "simulator"
    instance: str = "local"
    sim_traders: int = 40
    sim_seed: int = 7
    sim_end_date: dt.date = dt.date(2025, 12, 31)
    sim_changes: tuple[str, ...] = ()
    notify: bool = False
    webhook_url: str | None = None
    log_level: str = "WARNING"
    dask_scheduler: str | None = None
    reports_url: str = f"http://127.0.0.1:{DEFAULT_REPORTS_PORT}"
    contracts_file: Path | None = None

    @property
    def is_24_7(self) -> bool:
        return self.calendar == CALENDAR_24_7


def _date(value: str | None, default: dt.date | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else default


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read settings from the environment (``RISK_DATA_DIR``, ``RISK_CALENDAR``, ...)."""
    env = os.environ if environ is None else environ
    base = Settings()
    return Settings(
        data_dir=Path(env.get("RISK_DATA_DIR", str(base.data_dir))).expanduser().resolve(),
        calendar=env.get("RISK_CALENDAR", base.calendar),
        start_date=_date(env.get("RISK_START_DATE"), base.start_date),
        scoring_start_date=_date(env.get("RISK_SCORING_START"), base.scoring_start_date),
        source=env.get("RISK_SOURCE", base.source),
        instance=env.get("RISK_INSTANCE", base.instance),
        sim_traders=int(env.get("RISK_SIM_TRADERS", base.sim_traders)),
        sim_seed=int(env.get("RISK_SIM_SEED", base.sim_seed)),
        sim_end_date=_date(env.get("RISK_SIM_END_DATE"), base.sim_end_date),
        sim_changes=tuple(c for c in env.get("RISK_SIM_CHANGES", "").split(",") if c),
        notify=env.get("RISK_NOTIFY") == "1",
        webhook_url=env.get("RISK_WEBHOOK_URL") or None,
        log_level=env.get("RISK_LOG_LEVEL", base.log_level),
        dask_scheduler=env.get("RISK_DASK_SCHEDULER") or base.dask_scheduler,
        reports_url=env.get("RISK_REPORTS_URL", base.reports_url),
        contracts_file=(Path(env["RISK_CONTRACTS"]).expanduser().resolve()
                        if env.get("RISK_CONTRACTS") else base.contracts_file),
    )


def to_environ(settings: Settings) -> dict[str, str]:
    """The environment variables that ``load_settings`` reads back as ``settings`` (for a child
    process, e.g. the Dagster UI, which loads the code location from its environment)."""
    env = {
        "RISK_DATA_DIR": str(settings.data_dir),
        "RISK_CALENDAR": settings.calendar,
        "RISK_START_DATE": settings.start_date.isoformat(),
        "RISK_SOURCE": settings.source,
        "RISK_INSTANCE": settings.instance,
        "RISK_SIM_TRADERS": str(settings.sim_traders),
        "RISK_SIM_SEED": str(settings.sim_seed),
        "RISK_SIM_END_DATE": settings.sim_end_date.isoformat(),
        "RISK_SIM_CHANGES": ",".join(settings.sim_changes),
        "RISK_NOTIFY": "1" if settings.notify else "0",
        "RISK_LOG_LEVEL": settings.log_level,
        "RISK_REPORTS_URL": settings.reports_url,
    }
    if settings.scoring_start_date:
        env["RISK_SCORING_START"] = settings.scoring_start_date.isoformat()
    if settings.dask_scheduler:
        env["RISK_DASK_SCHEDULER"] = settings.dask_scheduler
    if settings.webhook_url:
        env["RISK_WEBHOOK_URL"] = settings.webhook_url
    if settings.contracts_file:
        env["RISK_CONTRACTS"] = str(settings.contracts_file)
    return env
