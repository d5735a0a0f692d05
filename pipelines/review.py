"""What a reviewer sees and does at a checkpoint: the list, one checkpoint with its stage's view (each
reviewed stage module has `view`, and `apply_edits` when the registry says it takes edits), decisions,
reopen, and the channels' operating state. Used by the Review page and REST API (plugins/) and the CLI."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from knowledge import store
from pipelines import checkpoints, production, storage, uploads
from pipelines.checkpoints import Checkpoint, CheckpointError, CheckpointNotFound
from pipelines.db import Conn
from pipelines.stages import registry

_LIST = """SELECT c.id, c.channel, c.production_id, p.topic, c.stage, c.revision, c.status, c.created_at,
                  c.reviewer, c.decided_at, c.notes, c.reminders, p.status = 'stalled' AND c.status = 'pending' AS stalled,
                  extract(epoch FROM coalesce(c.decided_at, now()) - c.created_at) AS waiting_seconds
             FROM checkpoints c JOIN productions p ON p.id = c.production_id"""


def list_checkpoints(
    conn: Conn,
    *,
    channel: str | None = None,
    stage: str | None = None,
    status: str | None = "pending",
    checkpoint_id: int | None = None,
    limit: int = 500,
) -> list[dict]:
    """Oldest first for pending ones (the longest wait on top); newest first otherwise."""
    where, args = [], []
    for col, val in (
        ("c.channel", channel),
        ("c.stage", stage),
        ("c.status", status),
        ("c.id", checkpoint_id),
    ):
        if val:
            where.append(f"{col} = %s")
            args.append(val)
    order = "c.created_at, c.id" if status == "pending" else "c.created_at DESC, c.id DESC"
    sql = _LIST + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {order} LIMIT %s"
    return [{**r, "waiting_seconds": float(r["waiting_seconds"])} for r in conn.execute(sql, [*args, limit])]


def channels(conn: Conn) -> list[str]:
    return [r["channel"] for r in conn.execute("SELECT DISTINCT channel FROM productions ORDER BY channel")]


def checkpoint_detail(conn: Conn, checkpoint_id: int) -> dict:
    cp = checkpoints.get(conn, checkpoint_id)
    row = list_checkpoints(conn, status=None, checkpoint_id=cp.id)[0]
    prod = conn.execute(
        "SELECT id, channel, topic, status, dag_run_id, workspace FROM productions WHERE id = %s",
        (cp.production_id,),
    ).fetchone()
    revisions = conn.execute(
        """SELECT id, revision, status, reviewer, notes, created_at, decided_at FROM checkpoints
            WHERE production_id = %s AND stage = %s ORDER BY revision""",
        (cp.production_id, cp.stage),
    ).fetchall()
    p = production.load(conn, cp.production_id)
    try:
        with p.session():  # storage: the stage's view reads its files through scratch, removed after
            view = registry.get(cp.stage).module.view(conn, p, cp)
    except FileNotFoundError as e:  # moved or deleted by hand: say which file, not a server error
        gone = Path(e.filename or "?")
        name = p.rel(gone) if gone.is_relative_to(p.workspace) else gone.name
        raise CheckpointNotFound(
            f"checkpoint {cp.id} ({cp.stage} r{cp.revision}) cannot be shown: its file {name!r} is gone "
            f"from production {cp.production_id}'s workspace; restore the workspace (e.g. from a backup)"
        ) from None
    return {
        "checkpoint": {**row, "artifacts": cp.artifacts, "edits": cp.edits},
        "production": prod,
        "revisions": revisions,
        "events": checkpoints.events(conn, cp.id),
        "publishing": uploads.of_production(conn, cp.production_id),
        "view": view,
    }


def decide(
    conn: Conn,
    checkpoint_id: int,
    decision: str,
    reviewer: str,
    notes: str | None = None,
    edits: dict | None = None,
) -> Checkpoint:
    """Decide once; with edits, the edited artifacts are what the production continues with."""
    artifacts = None
    if edits:
        cp = checkpoints.lock_pending(
            conn, checkpoint_id
        )  # concurrent deciders wait here, then get AlreadyDecided
        if decision != "approved":
            raise CheckpointError(
                "edits go with an approval; to have the stage redo its work, request changes"
            )
        stage = registry.get(cp.stage)
        if not stage.edits:
            raise CheckpointError(
                f"the {cp.stage} checkpoint takes no edits: approve, request changes or reject"
            )
        unknown = set(edits) - set(stage.edits)
        if unknown:
            raise CheckpointError(
                f"edits: unknown fields {sorted(unknown)}; the {cp.stage} checkpoint takes {', '.join(stage.edits)}"
            )
        p = production.load(conn, cp.production_id)
        with p.session():  # storage: the edited files are stored before the decision commits
            edited = stage.module.apply_edits(conn, p, cp, edits)
        artifacts = edited.dump()  # the stage's artifacts record, its originals under `_original`
    return checkpoints.decide(
        conn, checkpoint_id, decision, reviewer, notes, edits=edits, artifacts=artifacts
    )


def reopen(conn: Conn, checkpoint_id: int, admin: str) -> Checkpoint:
    return checkpoints.reopen(conn, checkpoint_id, admin)


def media_file(conn: Conn, production_id: int, rel_path: str) -> Path:
    """A file of the production's workspace as a local path to serve: the file itself when the storage is a
    folder, a copy in this machine's cache when it is a bucket (pipelines.storage.cached). CheckpointError
    for a path that leaves the workspace, CheckpointNotFound for no such production or file."""
    row = conn.execute(
        "SELECT channel, workspace FROM productions WHERE id = %s", (production_id,)
    ).fetchone()
    if row is None:
        raise CheckpointNotFound(f"no production {production_id}")
    key, old = production.locate(row["channel"], row["workspace"])
    store = storage.get()
    if store.local_root is None:  # a bucket: the key must stay under the production's
        parts = PurePosixPath(rel_path).parts
        if not rel_path or rel_path.startswith("/") or "\\" in rel_path or ".." in parts or "." in parts:
            raise CheckpointError(f"{rel_path!r} is outside the production's workspace")
        path = storage.cached(store, f"{key}/{rel_path}")
        if path is None:
            raise CheckpointNotFound(f"production {production_id} has no file {rel_path!r}")
        return path
    workspace = (old or store.local_root / key).resolve()
    if old is None and not workspace.is_relative_to(
        store.local_root.resolve()
    ):  # the folder is a symlink out
        raise CheckpointError(f"production {production_id}'s workspace leaves the storage folder")
    path = (workspace / rel_path).resolve()  # symlinks followed: one pointing out of the workspace is refused
    if not path.is_relative_to(workspace):
        raise CheckpointError(f"{rel_path!r} is outside the production's workspace")
    if not path.is_file():
        raise CheckpointNotFound(f"production {production_id} has no file {rel_path!r}")
    return path


def channel_state(conn: Conn) -> list[dict]:
    """Per channel: productions in flight by the stage they wait at, stalled ones, checkpoint waits, and its
    knowledge: current facts and the reuse rate (share of the facts its productions used that it already had)."""
    out = []
    for ch in channels(conn):
        counts = {
            r["status"]: r["n"]
            for r in conn.execute(
                "SELECT status, count(*) AS n FROM productions WHERE channel = %s GROUP BY status", (ch,)
            )
        }
        waiting = {
            r["stage"]: r["n"]
            for r in conn.execute(
                """SELECT c.stage, count(*) AS n FROM checkpoints c JOIN productions p ON p.id = c.production_id
                WHERE c.channel = %s AND c.status = 'pending' AND p.status IN ('running', 'stalled')
                GROUP BY c.stage""",
                (ch,),
            )
        }
        in_flight = counts.get("running", 0) + counts.get("stalled", 0)
        waits = [
            r["s"]
            for r in conn.execute(
                "SELECT extract(epoch FROM coalesce(decided_at, now()) - created_at)::float AS s FROM checkpoints "
                "WHERE channel = %s",
                (ch,),
            )
        ]
        quota_waits = conn.execute(
            "SELECT production_id, item, waiting_until AS until FROM youtube_uploads"
            " WHERE channel = %s AND state = 'waiting' ORDER BY waiting_until",
            (ch,),
        ).fetchall()
        out.append(
            {
                "channel": ch,
                "waiting_for_quota": quota_waits,
                "in_flight": {
                    **{s: waiting.get(s, 0) for s in registry.CHECKPOINTS},
                    "working": in_flight - sum(waiting.values()),
                },
                "stalled": counts.get("stalled", 0),
                "pending": sum(waiting.values()),
                "published": counts.get("published", 0),
                "rejected": counts.get("rejected", 0),
                "wait_median_s": statistics.median(waits) if waits else None,
                "wait_longest_s": max(waits) if waits else None,
                "facts": store.fact_count(conn, ch),
                "knowledge_reuse": store.reuse_rate(conn, ch),
                "as_of": datetime.now(UTC).isoformat(),
            }
        )
    return out
