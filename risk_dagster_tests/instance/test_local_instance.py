"""The local profile: profile files, the instance created once under a lock, and two
`risk-dagster ingest` commands started at once on a fresh data directory."""

import multiprocessing as mp
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from risk_dagster.core.settings import Settings, load_settings
from risk_dagster.instance import instance_lock, open_instance, prepare_dagster_home
from risk_dagster_tests.ingest.samples import FILLS_26, csv_text

ROOT = Path(__file__).resolve().parents[2]
DAYS = ("01/02/2024", "01/03/2024", "01/04/2024")


def fills_file(path: Path, traders: tuple[str, ...], per_day: int) -> Path:
    """A PropReports fills export: ``per_day`` fills per trader and day of DAYS, ids unique
    across files (they carry the trader's id), alternating buys and sells."""
    rows = []
    for tid in traders:
        for d, day in enumerate(DAYS):
            for i in range(per_day):
                rows.append({"Date/Time": f"{day} 10:{i // 60:02d}:{i % 60:02d}", "Account": tid,
                             "B/S": "B" if i % 2 == 0 else "S", "Qty": str(100 + i),
                             "Order Id": f"{tid}-{d}-{i}", "Fill Id": f"{tid}-{d}-{i}-1",
                             "PropReports Id": str(len(rows) + 1)})
    path.write_text(csv_text(FILLS_26, rows))
    return path


def test_settings_pick_the_profile(monkeypatch, tmp_path):
    assert load_settings({}).instance == "local"
    assert load_settings({"RISK_INSTANCE": "postgres"}).instance == "postgres"
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    home = prepare_dagster_home(Settings(data_dir=tmp_path, instance="local"))
    assert (home / "dagster.yaml").read_bytes() == (ROOT / "dagster.yaml").read_bytes()
    home = prepare_dagster_home(Settings(data_dir=tmp_path, instance="postgres"))
    installed = yaml.safe_load((home / "dagster.yaml").read_text())
    assert installed["storage"]["postgres"]["postgres_db"]["hostname"] == {"env": "RISK_PG_HOST"}
    assert not [p.name for p in home.iterdir() if p.name.startswith(".dagster.yaml.")]
    with pytest.raises(ValueError, match="RISK_INSTANCE='sqlite'"):
        prepare_dagster_home(Settings(data_dir=tmp_path, instance="sqlite"))


def test_a_wal_file_stays_open_between_dagster_style_writes(tmp_path):
    """Dagster's pattern (an engine per write, NullPool): the kept connection stops each close
    from checkpointing and deleting the write-ahead log; every row is there after it closes."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from risk_dagster.instance import close_kept_connections, use_sqlite_wal_normal_sync

    use_sqlite_wal_normal_sync()
    db = tmp_path / "events.db"

    def write(sql: str) -> None:
        engine = create_engine(f"sqlite:///{db}", poolclass=NullPool)
        with engine.connect() as conn, conn.begin():
            conn.execute(text(sql))
        engine.dispose()

    write("PRAGMA journal_mode=WAL")
    write("CREATE TABLE t (x INTEGER)")
    for i in range(5):
        write(f"INSERT INTO t VALUES ({i})")
        assert (tmp_path / "events.db-wal").exists()  # not deleted by the writer's close
    close_kept_connections()
    assert not (tmp_path / "events.db-wal").exists()  # the last close checkpointed it
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*), sum(x) FROM t").fetchone() == (5, 10)


def test_dagster_home_defaults_to_the_data_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert prepare_dagster_home(Settings(data_dir=tmp_path)) == tmp_path / "dagster_home"
    assert os.environ["DAGSTER_HOME"] == str(tmp_path / "dagster_home")


def _open(data_dir: str, barrier, results) -> None:
    barrier.wait()  # every process creates the instance at the same moment
    try:
        open_instance(Settings(data_dir=Path(data_dir)))
        results.put("ok")
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        results.put(f"{type(exc).__name__}: {str(exc)[:200]}")


def test_instance_is_created_once_by_processes_starting_together(monkeypatch, tmp_path):
    # Without the lock 4 processes on a fresh home fail here every time ("table
    # alembic_version already exists", "UNIQUE constraint failed: alembic_version...").
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    ctx = mp.get_context("fork")  # fast: the parent has imported dagster already
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_open, args=(str(tmp_path), barrier, results)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [results.get(timeout=5) for _ in procs] == ["ok"] * 4
    assert (tmp_path / "dagster_home" / "history" / "runs.db").exists()


def test_instance_lock_is_exclusive_across_processes(tmp_path):
    probe = ("import fcntl, sys; f = open(sys.argv[1], 'a+')\n"
             "try:\n    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB); print('free')\n"
             "except BlockingIOError:\n    print('held')")
    lock = tmp_path / ".instance.lock"

    def state() -> str:
        return subprocess.run([sys.executable, "-c", probe, str(lock)], capture_output=True,
                              text=True, check=True).stdout.strip()

    with instance_lock(tmp_path):
        assert state() == "held"
    assert state() == "free"


def _ingest(data_dir: Path, path: Path, extra_env: dict | None = None) -> subprocess.Popen:
    # the developer's own RISK_*/DAGSTER_HOME left out; the test's profile (extra_env) put in
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RISK_", "DAGSTER_HOME"))}
    env.update(extra_env or {}, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "risk_dagster.cli", "--data-dir", str(data_dir), "ingest",
         str(path), "--source", "propreports", "--ingest-only"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def run_two_ingests(data_dir: Path, files: list[Path], extra_env: dict | None = None) -> list[str]:
    """Start ``risk-dagster ingest --ingest-only`` on each file at once; their outputs."""
    procs = [_ingest(data_dir, f, extra_env) for f in files]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-3000:]
    return outs


def stored_fills(data_dir: Path) -> list[tuple]:
    """(trader, rows, distinct fill ids) in raw_fills, read with DuckDB."""
    return duckdb.sql(
        "SELECT trader_id, count(*), count(DISTINCT fill_id) FROM read_parquet(?) "
        "GROUP BY trader_id ORDER BY trader_id",
        params=[str(data_dir / "raw_fills" / "**" / "*.parquet")]).fetchall()


def test_two_ingests_at_once_on_a_fresh_data_directory(tmp_path):
    a = fills_file(tmp_path / "fills_a.csv", ("T0001", "T0002"), per_day=7)
    b = fills_file(tmp_path / "fills_b.csv", ("T0003", "T0004"), per_day=5)
    data = tmp_path / "data"
    outs = run_two_ingests(data, [a, b])
    assert "landed" in outs[0] and "42 fills rows, 3 dates" in outs[0]
    assert "30 fills rows, 3 dates" in outs[1]
    # Every fill of both files stored once, in the same three date partitions.
    assert stored_fills(data) == [("T0001", 21, 21), ("T0002", 21, 21), ("T0003", 15, 15),
                                  ("T0004", 15, 15)]
    assert sorted(p.name for p in (data / "raw_fills").iterdir()) == [
        "date=2024-01-02", "date=2024-01-03", "date=2024-01-04"]


def _synchronous(engine) -> int:
    import sqlalchemy as sa
    with engine.connect() as conn:
        return conn.execute(sa.text("PRAGMA synchronous")).scalar_one()


def test_dagster_sqlite_files_sync_normal_and_other_sqlite_files_keep_full(monkeypatch, tmp_path):
    # SQLite's PRAGMA synchronous: 2 = FULL (its default), 1 = NORMAL.
    import sqlalchemy as sa
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    instance = open_instance(load_settings({"RISK_DATA_DIR": str(tmp_path / "data")}))
    storage = instance.event_log_storage
    with storage.index_connection() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(sa.text("PRAGMA synchronous")).scalar_one() == 1
    # a SQLite file in the default (rollback journal) mode is left at FULL
    other = tmp_path / "other.db"
    sqlite3_conn = __import__("sqlite3").connect(other)
    sqlite3_conn.execute("CREATE TABLE t (x)")
    sqlite3_conn.close()
    assert _synchronous(sa.create_engine(f"sqlite:///{other}")) == 2
