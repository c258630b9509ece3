"""Resources, wired in one place (``definitions.py`` picks them from the settings)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg

from risk_dagster.core.lake import Lake
from risk_dagster.core.settings import Settings
from risk_dagster.ingest import sources
from risk_dagster.ingest.partition_checks import FIFO_PNL_TOL_USD
from risk_dagster.ingest.propreports_api import PropReportsClient
from risk_dagster.ingest.raw_partitions import CARRY_LOOKBACK_DAYS
from risk_dagster.notify.notifier import Notifier, NotifyResult

_DEFAULTS = Settings()
_NOTIFIER = Notifier()


class LakeResource(dg.ConfigurableResource):
    """The Parquet lake under the data directory. ``reports_url``: the report server's base URL
    (``Settings.reports_url``); None: report metadata carries paths only."""

    data_dir: str
    reports_url: str | None = None

    @property
    def root(self) -> Path:
        return Path(self.data_dir)

    @property
    def lake(self) -> Lake:
        return Lake(self.root)


class TradeSource(dg.ConfigurableResource):
    """Where raw fills and totals come from: the configuration of one ``ingest.sources`` class.

    ``simulator``: the embedded simulated firm (deterministic under ``sim_seed``).
    ``landing``: files dropped in ``<data>/inbox/<source>/`` and landed by ``inbox_sensor``.
    ``propreports_api``: fills and totals by date pulled for ``api_accounts`` from the PropReports
    API at ``api_base_url`` (token from the ``api_token_env_var`` environment variable).
    Defaults are the pipeline's (``core.settings.Settings``).
    """

    kind: str = _DEFAULTS.source
    data_dir: str
    calendar: str = _DEFAULTS.calendar
    sim_traders: int = _DEFAULTS.sim_traders
    sim_seed: int = _DEFAULTS.sim_seed
    sim_start: str = _DEFAULTS.start_date.isoformat()
    sim_end: str = _DEFAULTS.sim_end_date.isoformat()
    # changes injected into the simulated firm, to test drift detection:
    # "YYYY-MM-DD:trader_behaviour:T0001+T0002" or "YYYY-MM-DD:market_regime"
    sim_changes: list[str] = []
    chunk_sessions: int = 20  # dates processed together: bounds memory on long backfills
    api_base_url: str | None = None
    api_accounts: list[str] = []
    api_token_env_var: str = "PROPREPORTS_TOKEN"
    # reported gross vs the fills' FIFO realized P&L, per trader-day (USD); positions open before
    # a run's first date are rebuilt from this many days of stored fills
    pnl_tolerance_usd: float = FIFO_PNL_TOL_USD
    carry_lookback_days: int = CARRY_LOOKBACK_DAYS
    # the firm's futures contracts YAML (Settings.contracts_file), for files the inbox parses
    contracts_file: str | None = None

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

    def build(self) -> sources.Source:
        """The source this configuration names."""
        if self.kind == "simulator":
            return sources.SimulatorSource(self.simulation_config(), self.chunk_sessions)
        if self.kind == "landing":
            return sources.LandingSource(Path(self.data_dir), self.chunk_sessions)
        if self.kind == "propreports_api":
            return sources.PropReportsApiSource(self.api_base_url or "", list(self.api_accounts),
                                                self.calendar, self.api_token_env_var,
                                                self.chunk_sessions)
        raise ValueError(f"unknown source kind {self.kind!r}; expected one of {sources.SOURCE_KINDS}")

    def describe(self) -> str:
        return self.build().describe()

    def iter_batches(self, dates: list[dt.date]) -> Iterator[sources.SourceBatch]:
        """The rows of ``dates`` in chunks of about ``chunk_sessions`` dates (bounded memory)."""
        return self.build().iter_batches(dates)


# The production profile's database, as Dagster reads it (deploy/dagster.postgres.yaml): the
# same variables give Optuna its storage. Field -> environment variable.
PG_ENV = {"host": "RISK_PG_HOST", "port": "RISK_PG_PORT", "user": "RISK_PG_USER",
          "password": "RISK_PG_PASSWORD", "db": "RISK_PG_DB"}
OPTUNA_SCHEMA = "optuna"  # beside Dagster's tables: both keep an `alembic_version` table


class PostgresResource(dg.ConfigurableResource):
    """The PostgreSQL database of the production instance (RISK_INSTANCE=postgres)."""

    host: str
    port: int
    user: str
    password: str = ""
    db: str

    @classmethod
    def from_env(cls) -> "PostgresResource":
        """Fields bound to the ``RISK_PG_*`` variables (resolved at run time; the UI shows the
        variables' names, never the password)."""
        return cls(**{field: dg.EnvVar.int(name) if field == "port" else dg.EnvVar(name)
                      for field, name in PG_ENV.items()})

    def optuna_url(self) -> str:
        """SQLAlchemy URL of the Optuna studies: this database, schema ``optuna``."""
        from sqlalchemy.engine import URL

        return URL.create("postgresql+psycopg2", username=self.user, password=self.password or None,
                          host=self.host, port=self.port, database=self.db,
                          query={"options": f"-csearch_path={OPTUNA_SCHEMA}"},
                          ).render_as_string(hide_password=False)


def _overrides(resource: dg.ConfigurableResource, exclude: tuple[str, ...] = ()) -> dict:
    """The fields a user set (None means: keep the domain config's documented default, so each
    default lives in one place)."""
    return {k: v for k, v in resource.model_dump().items() if v is not None and k not in exclude}


class ModelSettings(dg.ConfigurableResource):
    """Training knobs a user may tune from the UI; unset ones keep TrainingConfig's defaults.

    optuna_storage: None (memory), ``journal:<path>`` or a database URL. cutoff: the last label
    date (YYYY-MM-DD) the serving fit may use. retune_sessions: reuse the last tuned LightGBM
    hyper-parameters until a fit's window has grown by more than this many sessions (None:
    tune every fit; see TrainingConfig). Where traders train: the ``compute`` resource.
    postgres: the production database; Optuna studies go there unless optuna_storage is set.
    """

    n_trials: int | None = None
    pooled_n_trials: int | None = None
    n_folds: int | None = None
    timeout_s: float | None = None
    min_train_sessions: int | None = None
    optuna_storage: str | None = None
    cutoff: str | None = None
    retune_sessions: int | None = None
    postgres: PostgresResource | None = None

    def training_config(self):
        from risk_dagster.models import TrainingConfig

        values = _overrides(self, exclude=("postgres",))
        if self.postgres is not None and "optuna_storage" not in values:
            values["optuna_storage"] = self.postgres.optuna_url()
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


class EvaluationSettings(dg.ConfigurableResource):
    """Evaluation and champion-selection knobs; unset ones keep EvaluationConfig's defaults
    (documented there). ``periods_per_year`` follows the calendar (set in definitions.py)."""

    flag_budget: float | None = None
    flag_probability: float | None = None
    min_threshold_rows: int | None = None
    var_level: float | None = None
    periods_per_year: int | None = None
    bootstrap_samples: int | None = None
    min_rows: int | None = None
    min_auc: float | None = None
    benefit_weight: float | None = None
    champion_reduction: float | None = None

    def config(self):
        from risk_dagster.evaluation import EvaluationConfig

        return EvaluationConfig(**_overrides(self))


class NotifierResource(dg.ConfigurableResource):
    """Notifications to the risk desk; the fields are ``notify.Notifier``'s (documented there).
    Use ``dg.EnvVar`` for the webhook URL to keep it out of config."""

    enabled: bool = _NOTIFIER.enabled
    urgent_only: bool = _NOTIFIER.urgent_only
    webhook_url: str | None = _NOTIFIER.webhook_url
    smtp_host: str | None = _NOTIFIER.smtp_host
    smtp_port: int = _NOTIFIER.smtp_port
    smtp_from: str | None = _NOTIFIER.smtp_from
    smtp_to: list[str] = list(_NOTIFIER.smtp_to)
    smtp_user_env_var: str | None = _NOTIFIER.smtp_user_env_var
    smtp_password_env_var: str | None = _NOTIFIER.smtp_password_env_var
    smtp_starttls: bool = _NOTIFIER.smtp_starttls
    timeout_s: float = _NOTIFIER.timeout_s

    def notify(self, subject: str, body: str, *, always: bool = False) -> NotifyResult:
        """``Notifier.notify`` with these settings; never raises."""
        return Notifier(**self.model_dump()).notify(subject, body, always=always)


class PropReportsApi(dg.ConfigurableResource):
    """PropReports API settings; the work is done by ``ingest.propreports_api.PropReportsClient``.

    base_url: API endpoint URL. token_env_var: environment variable holding the token (read at
    call time). timeout_s: seconds per request. max_retries / backoff_s: see PropReportsClient.
    """

    base_url: str
    token_env_var: str = "PROPREPORTS_TOKEN"
    timeout_s: float = 30
    max_retries: int = 4
    backoff_s: float = 1.0

    def get_client(self, *, sleep: Callable[[float], None] = time.sleep) -> PropReportsClient:
        """A plain client with these settings (``sleep`` is injectable for tests)."""
        return PropReportsClient(
            self.base_url,
            token_env_var=self.token_env_var,
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
            backoff_s=self.backoff_s,
            sleep=sleep,
        )

    def fetch_fills(self, account_id: str, start: dt.date, end: dt.date) -> str:
        """All fills of ``account_id`` from ``start`` to ``end`` (inclusive) as CSV text."""
        return self.get_client().fetch_fills(account_id, start, end)

    def fetch_totals_by_date(self, account_id: str, start: dt.date, end: dt.date) -> str:
        """Daily totals of ``account_id`` from ``start`` to ``end`` (inclusive) as CSV text."""
        return self.get_client().fetch_totals_by_date(account_id, start, end)
