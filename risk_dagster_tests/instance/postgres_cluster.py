"""A throwaway PostgreSQL cluster for the production-profile tests.

``initdb`` + ``pg_ctl`` from Debian's ``postgresql`` package (``/usr/lib/postgresql/<v>/bin``; or
``$RISK_PG_BINDIR``, or ``initdb`` on PATH), in a fresh temporary directory, on a free port of
127.0.0.1, its Unix socket in that directory, trust authentication. PostgreSQL refuses to run as
root: as root the directory is handed to the ``postgres`` user and the binaries run through
``runuser``. Durability is switched off (``fsync=off``): it only holds test data.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg2

USER = "risk"


class ClusterUnavailable(RuntimeError):
    """The server could not be started here (no binaries, no postgres user, start failed)."""


def _bindir() -> Path:
    if os.environ.get("RISK_PG_BINDIR"):
        return Path(os.environ["RISK_PG_BINDIR"])
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                    key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    if debian:
        return debian[-1].parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise ClusterUnavailable("no PostgreSQL binaries: install Debian's `postgresql` package "
                             "(or set RISK_PG_BINDIR to the folder holding initdb and pg_ctl)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    """A running server; ``env(db)`` gives the ``RISK_PG_*`` variables that reach database db."""

    root: Path
    bindir: Path
    port: int
    host: str = "127.0.0.1"
    user: str = USER

    def env(self, db: str) -> dict[str, str]:
        return {"RISK_PG_HOST": self.host, "RISK_PG_PORT": str(self.port),
                "RISK_PG_USER": self.user, "RISK_PG_PASSWORD": "", "RISK_PG_DB": db}

    def connect(self, db: str = "postgres"):
        return psycopg2.connect(host=self.host, port=self.port, user=self.user, dbname=db)

    def create_database(self) -> str:
        """A new empty database; returns its name."""
        name = f"risk_{uuid.uuid4().hex[:10]}"
        con = self.connect()
        con.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        with con.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        con.close()
        return name

    def stop(self) -> None:
        _run(self.bindir / "pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w",
             "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(*cmd, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(_as_owner([str(c) for c in cmd]), capture_output=True, text=True,
                          timeout=120)
    if check and proc.returncode:
        raise ClusterUnavailable(f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n"
                                 f"{proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    return proc


def start_cluster(attempts: int = 3) -> Cluster:
    """initdb + pg_ctl start in a new temporary directory; raises ClusterUnavailable."""
    bindir = _bindir()
    # Not pytest's tmp_path: it is private to root (0700), and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="risk_pg_"))
    try:
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise ClusterUnavailable("running as root and there is no `postgres` user "
                                         "to run the server") from exc
            os.chown(root, owner.pw_uid, owner.pw_gid)
        data = root / "data"
        _run(bindir / "initdb", "-D", data, "-A", "trust", "-U", USER, "-E", "UTF8", "--no-sync")
        log = ""
        for _ in range(attempts):  # another process may take the free port before we bind it
            port = _free_port()
            options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off")
            proc = _run(bindir / "pg_ctl", "-D", data, "-o", options, "-l", root / "server.log",
                        "-w", "-t", "60", "start", check=False)
            if proc.returncode == 0:
                return Cluster(root=root, bindir=bindir, port=port)
            log = (root / "server.log").read_text(errors="replace")[-2000:]
        raise ClusterUnavailable(f"pg_ctl start failed {attempts} times:\n{log}")
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
