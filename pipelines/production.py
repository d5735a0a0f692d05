"""One long-form production: its row, its workspace folder, connections entered into its channel and small
JSON helpers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from knowledge import store
from pipelines import latency, logfields
from pipelines.config import ChannelConfig, get_config
from pipelines.db import Conn, connect, one
from pipelines.paths import channel_dir


def slugify(text: str, max_len: int = 40) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:max_len].strip("-") or "video"


@dataclass(frozen=True)
class Production:
    id: int
    channel: str
    topic: str
    status: str
    workspace: Path
    target_override: int | None = None
    dag_run_id: str = ""

    @property
    def target_seconds(self) -> int:
        return self.target_override or self.cfg.target_seconds

    @cached_property
    def cfg(self) -> ChannelConfig:
        return get_config(self.channel)

    def stage_dir(self, stage: str, revision: int) -> Path:
        d = self.workspace / stage / f"r{revision}"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def rel(self, path: Path) -> str:
        return str(Path(path).relative_to(self.workspace))

    def abs(self, rel: str) -> Path:
        return self.workspace / rel


def create(
    conn: Conn, channel: str, topic: str, dag_run_id: str, target_seconds: int | None = None
) -> Production:
    """The production of a DAG run; a retried task gets the same one (unique per channel and run)."""
    row = conn.execute(
        "SELECT id FROM productions WHERE channel = %s AND dag_run_id = %s", (channel, dag_run_id)
    ).fetchone()
    if row is None:
        row = one(
            conn.execute(
                "INSERT INTO productions (channel, topic, dag_run_id, workspace, target_seconds)"
                " VALUES (%s, %s, %s, '', %s) RETURNING id",
                (channel, topic, dag_run_id, target_seconds),
            )
        )
        workspace = channel_dir(channel) / "productions" / f"{row['id']:05d}-{slugify(topic)}"
        conn.execute("UPDATE productions SET workspace = %s WHERE id = %s", (str(workspace), row["id"]))
    return load(conn, row["id"])


def load(conn: Conn, production_id: int) -> Production:
    row = conn.execute(
        "SELECT id, channel, topic, status, workspace, target_seconds, dag_run_id FROM productions "
        "WHERE id = %s",
        (production_id,),
    ).fetchone()
    if row is None:
        raise LookupError(f"no production with id {production_id}")
    p = Production(
        row["id"],
        row["channel"],
        row["topic"],
        row["status"],
        Path(row["workspace"]),
        row["target_seconds"],
        row["dag_run_id"],
    )
    p.workspace.mkdir(parents=True, exist_ok=True)
    return p


def set_status(conn: Conn, production_id: int, status: str) -> None:
    conn.execute(
        "UPDATE productions SET status = %s, updated_at = now() WHERE id = %s", (status, production_id)
    )


@contextmanager
def channel_db(channel: str) -> Iterator[Conn]:
    """A connection entered into the channel (knowledge.store.open_channel): it sees only its rows. The external
    calls timed inside the block name the channel and are written on the way out (pipelines.latency)."""
    try:
        with logfields.bound(channel=channel), connect() as conn:
            store.open_channel(conn, channel)
            yield conn
    finally:
        latency.flush()


@contextmanager
def production_db(production_id: int) -> Iterator[tuple[Conn, Production]]:
    """The production and a connection entered into its channel. On the way out, the external calls timed
    meanwhile are written (pipelines.latency.flush, one INSERT on a connection of its own)."""
    try:
        with connect() as conn:
            p = load(conn, production_id)
            logfields.bind(channel=p.channel, production_id=p.id)  # every later line of the task names it
            store.open_channel(conn, p.channel)
            yield conn, p
    finally:
        latency.flush()
