"""The Dagster instance `risk-dagster` runs on: which profile, where its home is, and creating it
once when several commands start together.

Two profiles, chosen by ``RISK_INSTANCE`` (``Settings.instance``):

- ``local`` (default): ``dagster.yaml`` at the project root; run history, event logs and schedule
  state in SQLite files under ``DAGSTER_HOME`` (``<data>/dagster_home`` unless set).
- ``postgres``: ``deploy/dagster.postgres.yaml``; run, event-log and schedule storage in one
  PostgreSQL database reached through the ``RISK_PG_*`` environment variables, which Dagster
  itself reads (``env:`` in the yaml; ``dg.EnvVar`` in defs/resources.py ``PostgresResource``,
  which gives Optuna the same database).

Creating an instance creates its schema; two processes doing it at once on a fresh home fail
(SQLite: ``table secondary_indexes already exists``). ``open_instance`` creates it under an
exclusive lock on a file in ``DAGSTER_HOME``, so the second process waits and finds it made.

The local profile's SQLite files are in WAL mode (Dagster sets it). SQLite's default
``synchronous=FULL`` then flushes the log to disk at every commit, and Dagster commits once per
event: about half of a range run's wall time went to fsync (the real Hyperliquid ingest, 1,793
materializations: 102 s, 67 s with ``NORMAL``). ``synchronous=NORMAL`` is SQLite's recommended
setting for WAL: a database is never corrupted; a power cut (not a crash of the process) may lose
the last events written before it. ``use_sqlite_wal_normal_sync`` sets it on every WAL-mode SQLite
connection SQLAlchemy opens in this process (the CLI, the replay, and Dagster's run workers, which
import ``risk_dagster.definitions``); other journal modes are left as they are.

Dagster opens a new SQLite connection for every event it stores (an engine per write, NullPool)
and closes it after the commit. In WAL mode the last connection to close checkpoints the log into
the database file (fsyncs) and deletes it, and the next write creates it again: 4 fdatasync and
2 unlinks per event, 5-17 ms an event on this machine's disk, against ~1 ms when a connection
stays open (measured with Dagster's pattern, 300 inserts). So the same listener keeps one idle
connection open on each of the last ``KEPT_OPEN`` WAL database files this process connected to
(no transaction held: checkpoints still run, every 1,000 pages as SQLite does by default, and
other processes read and write as before); evicted or at exit it closes, checkpointing then.
The durability is the same as without it (``synchronous=NORMAL``).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import sqlite3
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from sqlalchemy import event
from sqlalchemy.engine import Engine

from risk_dagster.core.settings import Settings
from risk_dagster.defs.partitions import TRADER_PARTITIONS_NAME

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PROFILES = {"local": Path("dagster.yaml"), "postgres": Path("deploy") / "dagster.postgres.yaml"}
LOCK_FILE = ".instance.lock"
KEPT_OPEN = 32  # WAL database files kept open by an idle connection (a run's events: one file)

_kept: OrderedDict[tuple[str, int], sqlite3.Connection] = OrderedDict()
_kept_lock = threading.Lock()


def _wal_normal_sync(dbapi_connection, _record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    (mode,) = dbapi_connection.execute("PRAGMA journal_mode").fetchone()
    if mode == "wal":
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        _keep_open(dbapi_connection)


def _keep_open(dbapi_connection: sqlite3.Connection) -> None:
    """Keep an idle connection open on ``dbapi_connection``'s database file (see the module
    docstring), the ``KEPT_OPEN`` most recently connected files at most."""
    path = next((row[2] for row in dbapi_connection.execute("PRAGMA database_list")
                 if row[1] == "main"), "")
    if not path:  # an in-memory or temporary database
        return
    try:
        key = (path, os.stat(path).st_ino)  # a file deleted and created again is another one
    except OSError:
        return
    with _kept_lock:
        if key in _kept:
            _kept.move_to_end(key)
            return
        keeper = sqlite3.connect(path, check_same_thread=False, timeout=30)
        # a read opens the WAL index and takes the shared lock that stops the last writer's
        # close from checkpointing and deleting the log; fetched whole, no transaction stays open
        keeper.execute("SELECT count(*) FROM sqlite_master").fetchall()
        _kept[key] = keeper
        while len(_kept) > KEPT_OPEN:
            _kept.popitem(last=False)[1].close()


def close_kept_connections() -> None:
    """Close the idle connections ``_keep_open`` holds (each close may checkpoint its file)."""
    with _kept_lock:
        while _kept:
            _kept.popitem(last=False)[1].close()


def _forget_kept_connections() -> None:
    """In a forked child: the parent's connections are not the child's to use or close."""
    global _kept_lock
    _kept.clear()
    _kept_lock = threading.Lock()


atexit.register(close_kept_connections)
os.register_at_fork(after_in_child=_forget_kept_connections)


def use_sqlite_wal_normal_sync() -> None:
    """Set ``synchronous=NORMAL`` on each WAL-mode SQLite connection SQLAlchemy opens from now on
    in this process, and keep an idle connection open on its file (idempotent). See the module
    docstring for why and what it risks."""
    if not event.contains(Engine, "connect", _wal_normal_sync):
        event.listen(Engine, "connect", _wal_normal_sync)


def profile_file(profile: str) -> Path:
    """The instance yaml of ``profile`` (``local`` or ``postgres``) in the project."""
    if profile not in PROFILES:
        raise ValueError(f"RISK_INSTANCE={profile!r}: expected one of {', '.join(PROFILES)}")
    return PROJECT_ROOT / PROFILES[profile]


def prepare_dagster_home(settings: Settings) -> Path:
    """Point DAGSTER_HOME at ``<data>/dagster_home`` (unless set) and install the profile's yaml
    there as ``dagster.yaml`` (atomically, under the instance lock). Returns the home."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.data_dir / "dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    source = profile_file(settings.instance)
    with instance_lock(home):
        _install(source, home / "dagster.yaml")
    return home


def _install(source: Path, target: Path) -> None:
    text = source.read_bytes()
    if target.exists() and target.read_bytes() == text:
        return
    # A reader (the webserver, another command) never sees a half-written dagster.yaml.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".dagster.yaml.")
    with os.fdopen(fd, "wb") as out:
        out.write(text)
    os.replace(tmp, target)


@contextlib.contextmanager
def instance_lock(home: Path) -> Iterator[None]:
    """Exclusive ``flock`` on ``<home>/.instance.lock`` for the duration of the block (other
    processes on this machine block until it is released)."""
    with open(Path(home) / LOCK_FILE, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_instance(settings: Settings) -> dg.DagsterInstance:
    """The instance of ``settings``' profile, its storage schema created (once, under the lock)
    before any run is launched on it."""
    home = prepare_dagster_home(settings)
    use_sqlite_wal_normal_sync()
    with instance_lock(home):
        instance = dg.DagsterInstance.get()
        # Touch each storage so every table exists before the lock is released.
        instance.get_runs(limit=1)
        instance.all_instigator_state()
        instance.get_dynamic_partitions(TRADER_PARTITIONS_NAME)
    return instance
