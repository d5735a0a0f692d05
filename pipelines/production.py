"""One long-form production: its row, its workspace (pipelines.workspace: its files in storage, as this task
works on them), connections entered into its channel and small JSON helpers.

The row names the production's storage key (`channels/<channel>/productions/00042-<slug>`) in its
`workspace` column; rows written before storage existed name an absolute folder, still read (see
`locate`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

from knowledge import store
from pipelines import latency, logfields, storage
from pipelines.config import ChannelConfig, get_config
from pipelines.db import Conn, connect, one
from pipelines.paths import data_dir
from pipelines.workspace import Workspace


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
    key: str = ""  # where its files are stored (pipelines.storage)
    files: Workspace | None = field(default=None, compare=False, repr=False)

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
        """The local path of the workspace file `rel` (staged from storage when it is kept in a bucket)."""
        return self.files.path(rel) if self.files else self.workspace / rel

    def has(self, rel: str) -> bool:
        """Whether the workspace file `rel` exists (here or, for a bucket, in storage: it is then staged)."""
        return self.abs(rel).is_file()

    def sync(self) -> list[str]:
        """Upload what this task wrote so far (a bucket; nothing for a folder): a retry then finds it."""
        return self.files.sync() if self.files else []

    def session(self) -> AbstractContextManager[object]:
        """One task's use of the files (Workspace.session): uploaded on a clean exit, scratch removed."""
        return self.files.session() if self.files else nullcontext()


def workspace_key(production_id: int, channel: str, topic: str) -> str:
    """The storage key of a new production's files."""
    return f"channels/{channel}/productions/{production_id:05d}-{slugify(topic)}"


def locate(channel: str, workspace: str) -> tuple[str, Path | None]:
    """A production row's storage key and, for a row written before storage (an absolute folder), that
    folder; its key is then its path under the data folder, or channels/<channel>/productions/<its name>."""
    if not workspace.startswith("/"):
        return workspace, None
    old = Path(workspace)
    if old.is_relative_to(data_dir()):
        return PurePosixPath(*old.relative_to(data_dir()).parts).as_posix(), old
    return f"channels/{channel}/productions/{old.name}", old


def open_files(channel: str, workspace: str) -> Workspace:
    """The workspace of a production row (its `channel` and `workspace` columns) in today's storage."""
    key, old = locate(channel, workspace)
    store = storage.get()
    return Workspace(key, store, old if store.local_root is not None else None)


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
        key = workspace_key(row["id"], channel, topic)  # not a path: every worker has its own
        conn.execute("UPDATE productions SET workspace = %s WHERE id = %s", (key, row["id"]))
    return load(conn, row["id"])


def load(conn: Conn, production_id: int) -> Production:
    row = conn.execute(
        "SELECT id, channel, topic, status, workspace, target_seconds, dag_run_id FROM productions "
        "WHERE id = %s",
        (production_id,),
    ).fetchone()
    if row is None:
        raise LookupError(f"no production with id {production_id}")
    files = open_files(row["channel"], row["workspace"])
    return Production(
        row["id"],
        row["channel"],
        row["topic"],
        row["status"],
        files.root,
        row["target_seconds"],
        row["dag_run_id"],
        key=files.key,
        files=files,
    )


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
    """The production and a connection entered into its channel. Storage: what the stage wrote is uploaded
    before this commits and the task's scratch is removed. On the way out, the external calls timed meanwhile
    are written (pipelines.latency.flush, one INSERT on a connection of its own)."""
    try:
        with connect() as conn:
            p = load(conn, production_id)
            logfields.bind(channel=p.channel, production_id=p.id)  # every later line of the task names it
            store.open_channel(conn, p.channel)
            with p.session():
                yield conn, p
    finally:
        latency.flush()
