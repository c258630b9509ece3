"""The production profile on a real PostgreSQL server (risk_dagster_tests/instance/conftest.py):
the instance yaml, Optuna's studies, a short pipeline, schedule state and runs launched at once,
each checked in PostgreSQL's own tables."""

import dataclasses
import datetime as dt
import multiprocessing as mp
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import optuna
import psycopg2
import pytest
import yaml

from risk_dagster.core.settings import Settings
from risk_dagster.defs.compute import LocalPoolCompute
from risk_dagster.defs.assets import models as ma
from risk_dagster.defs.assets.ingest import trader_registry
from risk_dagster.defs.partitions import RANGE_END_TAG, RANGE_START_TAG, TRADER_PARTITIONS_NAME
from risk_dagster.defs.resources import (PG_ENV, EvaluationSettings, LakeResource, ModelSettings,
                                         MonitoringSettings, NotifierResource, PostgresResource,
                                         RecommendationSettings, TradeSource)
from risk_dagster.instance import open_instance
from risk_dagster.models.config import TrainingConfig
from risk_dagster.models.splits import Fold
from risk_dagster.models.tuning import make_storage, tune_classifier
from risk_dagster_tests.factories import date_assets
from risk_dagster_tests.instance.test_local_instance import (ROOT, fills_file, run_two_ingests,
                                                             stored_fills)

ASSETS = [*date_assets().values(), trader_registry, ma.pooled_model, ma.trader_models,
          ma.model_evaluation]


def rows(env: dict, sql: str, params=()) -> list[tuple]:
    con = psycopg2.connect(host=env["RISK_PG_HOST"], port=env["RISK_PG_PORT"],
                           user=env["RISK_PG_USER"], dbname=env["RISK_PG_DB"])
    try:
        with con.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        con.close()


def test_profile_is_the_local_one_with_storage_on_postgres():
    local = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    prod = yaml.safe_load((ROOT / "deploy" / "dagster.postgres.yaml").read_text())
    assert prod.pop("storage") == {"postgres": {"postgres_db": {
        "hostname": {"env": "RISK_PG_HOST"}, "port": {"env": "RISK_PG_PORT"},
        "username": {"env": "RISK_PG_USER"}, "password": {"env": "RISK_PG_PASSWORD"},
        "db_name": {"env": "RISK_PG_DB"}, "scheme": "postgresql+psycopg2"}}}
    assert prod == local  # the same run queue, pools, monitoring
    assert sorted(PG_ENV.values()) == sorted(
        v["env"] for v in yaml.safe_load((ROOT / "deploy" / "dagster.postgres.yaml").read_text())
        ["storage"]["postgres"]["postgres_db"].values() if isinstance(v, dict))


def _pg(env: dict, password: str = "") -> PostgresResource:
    return PostgresResource(host=env["RISK_PG_HOST"], port=int(env["RISK_PG_PORT"]),
                            user=env["RISK_PG_USER"], password=password, db=env["RISK_PG_DB"])


def _make_storage(url: str, barrier, results) -> None:
    barrier.wait()
    try:
        make_storage(url)
        results.put("ok")
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        results.put(f"{type(exc).__name__}: {str(exc)[:200]}")


def test_optuna_studies_live_in_the_same_database(postgres_env):
    # A password is accepted and ignored by the test server (trust); it must never be stored.
    url = _pg(postgres_env, password="s3cret").optuna_url()
    assert url.startswith("postgresql+psycopg2://risk:s3cret@127.0.0.1:")
    cfg = TrainingConfig(optuna_storage=url, n_trials=3, max_rounds=20, timeout_s=30)
    assert "s3cret" not in str(cfg.as_json()) and "***" in cfg.as_json()["optuna_storage"]

    # Four trainings opening the storage together on a fresh database all succeed (the schema
    # is created once, under an advisory lock).
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_make_storage, args=(url, barrier, results)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [results.get(timeout=5) for _ in procs] == ["ok"] * 4

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] + rng.normal(scale=0.5, size=300) > 1.0).astype(float)
    folds = [Fold(0, np.arange(0, 200), np.arange(200, 300), None, None)]
    _, _, study = tune_classifier(X, y, folds, [], cfg, study_name="run1.trader_lgbm.T0001.final",
                                  n_trials=3, storage=make_storage(url))
    assert len(study.trials) == 3
    assert rows(postgres_env, "SELECT study_name FROM optuna.studies") == [
        ("run1.trader_lgbm.T0001.final",)]
    assert rows(postgres_env, "SELECT state, count(*) FROM optuna.trials GROUP BY state") == [
        ("COMPLETE", 3)]
    # A re-run replaces its study rather than adding a second one.
    tune_classifier(X, y, folds, [], cfg, study_name="run1.trader_lgbm.T0001.final", n_trials=2,
                    storage=make_storage(url))
    assert rows(postgres_env, "SELECT count(*) FROM optuna.studies") == [(1,)]
    assert rows(postgres_env, "SELECT count(*) FROM optuna.trials") == [(2,)]
    assert optuna.get_all_study_names(make_storage(url)) == ["run1.trader_lgbm.T0001.final"]


START, END = dt.date(2024, 1, 2), dt.date(2024, 3, 28)  # 4 traders x 63 sessions


class SmallModelSettings(ModelSettings):
    """Training thresholds cut to this small firm, so the pooled LightGBM is tuned (by Optuna)."""

    def training_config(self):
        # 112 labelled rows with 5 large losses: past the labels' warm-up of ~35 sessions
        return dataclasses.replace(super().training_config(), min_pooled_rows=60,
                                   min_trader_positives=3, max_rounds=40)


def _materialize(instance, resources, selection, first: str, last: str) -> dg.ExecuteInProcessResult:
    result = dg.materialize(ASSETS, selection=selection, instance=instance, resources=resources,
                            tags={RANGE_START_TAG: first, RANGE_END_TAG: last},
                            raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure][:3]
    return result


@pytest.fixture
def pg_instance(postgres_env, tmp_path, monkeypatch):
    """The production profile's instance (deploy/dagster.postgres.yaml, as risk-dagster installs
    it) on a fresh database."""
    for name, value in postgres_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    instance = open_instance(Settings(data_dir=tmp_path / "data", instance="postgres"))
    yield instance
    instance.dispose()


def test_short_pipeline_on_postgres(pg_instance, postgres_env, tmp_path):
    from dagster_postgres import PostgresRunStorage

    assert isinstance(pg_instance.run_storage, PostgresRunStorage)
    data = tmp_path / "data"
    resources = {
        "lake": LakeResource(data_dir=str(data)),
        "source": TradeSource(kind="simulator", data_dir=str(data), sim_traders=4,
                              sim_start=START.isoformat(), sim_end=END.isoformat()),
        # Optuna's storage through dg.EnvVar, as definitions.py builds it for RISK_INSTANCE=postgres.
        "models": SmallModelSettings(n_trials=2, pooled_n_trials=2, n_folds=1,
                                     min_train_sessions=25, timeout_s=30,
                                     postgres=PostgresResource.from_env()),
        "compute": LocalPoolCompute(workers=1),
        "monitoring": MonitoringSettings(),
        "evaluation_settings": EvaluationSettings(),
        "recommendation_settings": RecommendationSettings(),
        "notifier": NotifierResource(),
    }
    _materialize(pg_instance, resources, dg.AssetSelection.groups("ingest", "features"),
                 START.isoformat(), END.isoformat())
    traders = pg_instance.get_dynamic_partitions(TRADER_PARTITIONS_NAME)
    assert traders == ["T0001", "T0002", "T0003", "T0004"]
    models = _materialize(pg_instance, resources, dg.AssetSelection.groups("models"), traders[0],
                          traders[-1])
    pooled = next(m.materialization.metadata for m in models.get_asset_materialization_events()
                  if m.asset_key == dg.AssetKey("pooled_model"))
    _materialize(pg_instance, resources, dg.AssetSelection.groups("recommendations"),
                 END.isoformat(), END.isoformat())

    # Runs, materializations, the trader partitions and the studies: in PostgreSQL's tables.
    assert rows(postgres_env, "SELECT status, count(*) FROM runs GROUP BY status") == [
        ("SUCCESS", 3)]
    materialized = dict(rows(postgres_env,
                             # partitions materialized (a range run also records its summary
                             # on every partition before each partition's own metadata)
                             "SELECT asset_key, count(DISTINCT coalesce(partition, '')) "
                             "FROM event_logs WHERE "
                             "dagster_event_type = 'ASSET_MATERIALIZATION' GROUP BY asset_key"))
    sessions = len(pd.bdate_range(START, END))  # every weekday is a partition (holidays too)
    assert materialized['["raw_fills"]'] == sessions
    assert materialized['["trader_features"]'] == sessions
    assert materialized['["trader_models"]'] == 4  # one per trader partition
    assert materialized['["pooled_model"]'] == 1 and materialized['["risk_scores"]'] == 1
    assert rows(postgres_env, "SELECT partition FROM dynamic_partitions WHERE partitions_def_name "
                "= %s ORDER BY partition", (TRADER_PARTITIONS_NAME,)) == [(t,) for t in traders]
    studies = [name for (name,) in rows(postgres_env, "SELECT study_name FROM optuna.studies")]
    assert any(".pooled_lgbm.pooled.final" in s for s in studies), (studies, pooled)
    assert rows(postgres_env, "SELECT count(*) FROM optuna.trials WHERE state = 'COMPLETE'")[0][0] >= 2
    live = sorted((data / "live").glob("20*"))
    assert live and (live[-1] / "recommendations.csv").exists()


def _cli_env(postgres_env: dict, home: Path) -> dict:
    return {**postgres_env, "RISK_INSTANCE": "postgres", "DAGSTER_HOME": str(home)}


def test_two_ingests_at_once_and_a_schedule_on_postgres(postgres_env, tmp_path):
    a = fills_file(tmp_path / "fills_a.csv", ("T0001", "T0002"), per_day=4)
    b = fills_file(tmp_path / "fills_b.csv", ("T0003",), per_day=6)
    home = tmp_path / "dagster_home"
    run_two_ingests(tmp_path / "data", [a, b], _cli_env(postgres_env, home))
    # Two runs launched at once on a fresh database: both succeeded, every fill stored once.
    assert rows(postgres_env, "SELECT pipeline_name, status FROM runs ORDER BY 1") == [
        ("ingest_job", "SUCCESS"), ("ingest_job", "SUCCESS")]
    assert stored_fills(tmp_path / "data") == [("T0001", 12, 12), ("T0002", 12, 12),
                                               ("T0003", 18, 18)]
    assert rows(postgres_env, "SELECT count(*) FROM dynamic_partitions")[0][0] == 3

    # A schedule started the way an operator does, stored in the schedule tables.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RISK_", "DAGSTER_HOME"))}
    env.update(_cli_env(postgres_env, home), PYTHONPATH=str(ROOT), RISK_SOURCE="landing")
    proc = subprocess.run([sys.executable, "-m", "dagster", "schedule", "start",
                           "daily_scoring_schedule", "-m", "risk_dagster.definitions"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    # (Dagster keeps the schedule's name in the serialized body of these rows)
    named = ("%daily_scoring_schedule%",)
    assert rows(postgres_env, "SELECT instigator_type, status, instigator_body LIKE %s "
                "FROM instigators", named) == [("SCHEDULE", "RUNNING", True)]
    assert rows(postgres_env, "SELECT job_type, status, job_body LIKE %s FROM jobs",
                named) == [("SCHEDULE", "RUNNING", True)]
