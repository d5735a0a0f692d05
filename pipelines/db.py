"""The project's PostgreSQL: where to find it, how to connect, how to migrate it.

DATABASE_URL overrides everything; otherwise the embedded server (pipelines.local.pgembed) is used.
Project tables live in the `nicheflow` schema, so the same database can also hold Airflow's.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeAlias

import psycopg
from psycopg import sql
from psycopg.rows import DictRow, dict_row

from pipelines.paths import REPO

log = logging.getLogger(__name__)
MIGRATIONS = REPO / "sql"
EMBEDDED_PORT = int(os.environ.get("NICHEFLOW_PG_PORT", "55432"))

Conn: TypeAlias = psycopg.Connection[DictRow]
"""A connection from connect(): its rows are dicts, column name to value."""


def embedded_url(dbname: str = "nicheflow") -> str:
    return f"postgresql://postgres@127.0.0.1:{EMBEDDED_PORT}/{dbname}"


def database_url() -> str:
    return os.environ.get("DATABASE_URL") or embedded_url()


@contextmanager
def connect(url: str | None = None) -> Iterator[Conn]:
    """A connection with dict rows and search_path set; commits on success, rolls back on error."""
    with psycopg.connect(
        url or database_url(), row_factory=dict_row, options="-c search_path=nicheflow,public"
    ) as conn:
        yield conn


def one(cursor: psycopg.Cursor[DictRow], what: str = "a row") -> DictRow:
    """The row of a statement that always returns one (an aggregate, INSERT ... RETURNING, a row whose key
    was just read); raises LookupError if it returned none."""
    row = cursor.fetchone()
    if row is None:
        raise LookupError(f"expected {what}, the statement returned none")
    return row


def migrate(url: str | None = None) -> list[str]:
    """Apply sql/NNN_*.sql files not applied yet, each in its own transaction. Returns the ones applied."""
    applied: list[str] = []
    with connect(url) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS nicheflow")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS nicheflow.schema_migrations ("
            "name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute("SELECT pg_advisory_xact_lock(7401)")  # two processes migrating at once wait here
        done = {r["name"] for r in conn.execute("SELECT name FROM nicheflow.schema_migrations")}
        for path in sorted(Path(MIGRATIONS).glob("[0-9][0-9][0-9]_*.sql")):
            if path.name in done:
                continue
            log.info("applying migration %s", path.name)
            conn.execute(path.read_text())
            conn.execute("INSERT INTO nicheflow.schema_migrations (name) VALUES (%s)", (path.name,))
            applied.append(path.name)
        if applied and one(conn.execute("SELECT to_regproc('nicheflow.refresh_channel_views') AS f"))["f"]:
            conn.execute("SELECT nicheflow.refresh_channel_views()")  # a channel's views follow its tables
    return applied


CHANNEL_ROLE = "nicheflow_channel"


def enter_channel(conn: Conn, channel: str) -> None:
    """From here on, this connection sees and writes only this channel's rows, enforced by PostgreSQL: it runs
    as role nicheflow_channel, whose only view of channel tables is schema nicheflow_channel (one view per
    table, filtered on the setting `nicheflow.channel`; see sql/007_channel_isolation.sql). For the rest of
    the connection's life: the settings are committed at once, so a later rollback does not undo them
    (this commits whatever the connection had pending: enter before writing)."""
    conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(CHANNEL_ROLE)))
    conn.execute(
        "SELECT set_config('nicheflow.channel', %s, false), "
        "set_config('search_path', 'nicheflow_channel, nicheflow, public', false)",
        (channel,),
    )
    conn.commit()
