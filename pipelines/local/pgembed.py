"""An embedded PostgreSQL for a fresh machine: Debian's server binaries, data in the project's data folder.

`ensure_running()` initialises the cluster once (initdb), starts it on a private port and creates the
`nicheflow` and `airflow` databases. Local trust auth on 127.0.0.1 and a private socket directory only:
this is a single-user development server, not a shared one. Running as root, the server runs as the
`postgres` system user (PostgreSQL refuses root).
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import psycopg

from pipelines.db import EMBEDDED_PORT, embedded_url
from pipelines.paths import data_dir

log = logging.getLogger(__name__)


class EmbeddedPostgresError(RuntimeError):
    pass


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("pg_ctl")
    if which:
        return Path(which).parent
    raise EmbeddedPostgresError(
        "PostgreSQL server binaries not found. Install them with `apt-get install postgresql` "
        "(make run does this as root), or point DATABASE_URL at an existing PostgreSQL 14+."
    )


def _as_root() -> bool:
    return os.geteuid() == 0


def _run(args: list[str], *, check: bool = True) -> subprocess.CompletedProcess:
    if _as_root():
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=check, capture_output=True, text=True)


def cluster_dir() -> Path:
    """data/postgres normally. As root, if the `postgres` user cannot reach the project folder
    (e.g. a clone under /root), the cluster lives in /var/lib/nicheflow/<hash> instead."""
    wanted = data_dir() / "postgres"
    if not _as_root():
        return wanted
    probe = subprocess.run(
        ["runuser", "-u", "postgres", "--", "test", "-x", str(data_dir().parent)], capture_output=True
    )
    if probe.returncode == 0:
        return wanted
    digest = hashlib.sha1(str(wanted).encode()).hexdigest()[:12]
    return Path("/var/lib/nicheflow") / digest / "postgres"


def _prepare(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if _as_root():
        pw = pwd.getpwnam("postgres")
        os.chown(path, pw.pw_uid, pw.pw_gid)


def is_running() -> bool:
    try:
        with psycopg.connect(embedded_url("postgres"), connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def ensure_running() -> str:
    """Start the embedded server if needed; return the project database URL."""
    if is_running():
        _create_databases()
        return embedded_url()
    bins = _bin_dir()
    pgdata = cluster_dir()
    sockets = pgdata.parent / "run"
    _prepare(pgdata.parent)
    _prepare(sockets)
    if not (pgdata / "PG_VERSION").exists():
        _prepare(pgdata)
        log.info("initialising PostgreSQL cluster in %s", pgdata)
        res = _run(
            [
                str(bins / "initdb"),
                "-D",
                str(pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            check=False,
        )
        if res.returncode != 0:
            raise EmbeddedPostgresError(f"initdb failed:\n{res.stderr[-2000:]}")
    opts = f"-p {EMBEDDED_PORT} -k {sockets} -c listen_addresses=127.0.0.1 -c max_connections=200"
    res = _run(
        [
            str(bins / "pg_ctl"),
            "-D",
            str(pgdata),
            "-l",
            str(pgdata.parent / "postgres.log"),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=False,
    )
    if res.returncode != 0 and not is_running():
        log_tail = pgdata.parent / "postgres.log"
        tail = log_tail.read_text()[-2000:] if log_tail.exists() else ""
        raise EmbeddedPostgresError(
            f"PostgreSQL did not start on port {EMBEDDED_PORT} ({res.stderr.strip()}).\n{tail}\n"
            "If the port is taken, set NICHEFLOW_PG_PORT to a free one."
        )
    for _ in range(50):
        if is_running():
            break
        time.sleep(0.1)
    _create_databases()
    log.info("embedded PostgreSQL running on 127.0.0.1:%s (data in %s)", EMBEDDED_PORT, pgdata)
    return embedded_url()


def _create_databases() -> None:
    with psycopg.connect(embedded_url("postgres"), autocommit=True) as conn:
        existing = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
        for name in ("nicheflow", "airflow"):
            if name not in existing:
                conn.execute(f'CREATE DATABASE "{name}"')


def stop() -> None:
    pgdata = cluster_dir()
    if (pgdata / "PG_VERSION").exists():
        _run([str(_bin_dir() / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"], check=False)
