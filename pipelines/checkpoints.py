"""Checkpoints: approval rows in PostgreSQL. Stages open them; people (the CLI, the Review page and its REST API) decide
them; sensors wait for the decision. A decision is written once: deciding a decided row is an error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from psycopg.types.json import Jsonb

from pipelines.db import Conn
from pipelines.errors import PermanentError

Decision = Literal["approved", "changes_requested", "rejected"]
DECISIONS: tuple[str, ...] = ("approved", "changes_requested", "rejected")

# LISTEN/NOTIFY channel on which every decision is announced (payload: the checkpoint id), so the trigger
# waiting on that checkpoint resumes the production at once instead of at its next poll.
NOTIFY_CHANNEL = "nicheflow_checkpoint"


class CheckpointError(PermanentError, ValueError):
    """A request that cannot be carried out; the message says why and what to do."""


class CheckpointNotFound(CheckpointError):
    """No such checkpoint (or none for that production and stage)."""


class AlreadyDecided(CheckpointError):
    """The checkpoint was decided already; a decision is written once."""


@dataclass(frozen=True)
class Checkpoint:
    id: int
    production_id: int
    channel: str
    stage: str
    revision: int
    status: str
    artifacts: dict
    reviewer: str | None
    notes: str | None
    created_at: datetime
    decided_at: datetime | None
    topic: str | None = None
    edits: dict | None = None
    reminders: int = 0
    production_status: str | None = None


_SELECT = """SELECT c.id, c.production_id, c.channel, c.stage, c.revision, c.status, c.artifacts, c.reviewer,
                    c.notes, c.created_at, c.decided_at, p.topic, c.edits, c.reminders,
                    p.status AS production_status
               FROM checkpoints c JOIN productions p ON p.id = c.production_id"""


def open_checkpoint(
    conn: Conn, production_id: int, channel: str, stage: str, revision: int, artifacts: dict
) -> Checkpoint:
    """Write the pending row for a stage's revision. Idempotent: a retried stage gets the same row."""
    from pipelines.stages.registry import CHECKPOINTS

    if stage not in CHECKPOINTS:
        raise CheckpointError(f"unknown stage {stage!r}; reviewed stages are {', '.join(CHECKPOINTS)}")
    conn.execute(
        # clock_timestamp(): the wait starts now, not when the (long, rendering) transaction began
        """INSERT INTO checkpoints (production_id, channel, stage, revision, artifacts, created_at)
           VALUES (%s, %s, %s, %s, %s, clock_timestamp()) ON CONFLICT (production_id, stage, revision) DO NOTHING""",
        (production_id, channel, stage, revision, Jsonb(artifacts)),
    )
    cp = latest(conn, production_id, stage)
    assert cp is not None, "the row was just inserted, or was already there"
    return cp


def get(conn: Conn, checkpoint_id: int) -> Checkpoint:
    row = conn.execute(_SELECT + " WHERE c.id = %s", (checkpoint_id,)).fetchone()
    if not row:
        raise CheckpointNotFound(
            f"no checkpoint with id {checkpoint_id}; `nicheflow pending` lists open ones"
        )
    return Checkpoint(**row)


def latest(conn: Conn, production_id: int, stage: str) -> Checkpoint | None:
    row = conn.execute(
        _SELECT + " WHERE c.production_id = %s AND c.stage = %s ORDER BY c.revision DESC LIMIT 1",
        (production_id, stage),
    ).fetchone()
    return Checkpoint(**row) if row else None


def approved(conn: Conn, production_id: int, stage: str) -> Checkpoint:
    """The approved revision of a stage: what later stages build on."""
    cp = latest(conn, production_id, stage)
    if cp is None or cp.status != "approved":
        raise CheckpointError(f"production {production_id}: stage {stage} has no approved revision")
    return cp


def pending(conn: Conn, channel: str | None = None) -> list[Checkpoint]:
    where = " WHERE c.status = 'pending'" + (" AND c.channel = %s" if channel else "")
    rows = conn.execute(_SELECT + where + " ORDER BY c.created_at", (channel,) if channel else ()).fetchall()
    return [Checkpoint(**r) for r in rows]


def history(conn: Conn, production_id: int) -> list[Checkpoint]:
    rows = conn.execute(_SELECT + " WHERE c.production_id = %s ORDER BY c.id", (production_id,)).fetchall()
    return [Checkpoint(**r) for r in rows]


def lock_pending(conn: Conn, checkpoint_id: int) -> Checkpoint:
    """Lock the row for this transaction and return it; AlreadyDecided if it is not pending. Concurrent
    deciders queue on the lock and then see the first one's decision."""
    row = conn.execute("SELECT id FROM checkpoints WHERE id = %s FOR UPDATE", (checkpoint_id,)).fetchone()
    cp = get(conn, checkpoint_id) if row else None
    if cp is None:
        raise CheckpointNotFound(
            f"no checkpoint with id {checkpoint_id}; `nicheflow pending` lists open ones"
        )
    if cp.status != "pending":
        raise AlreadyDecided(
            f"checkpoint {checkpoint_id} was already decided: {cp.status} by {cp.reviewer} "
            f"at {cp.decided_at:%Y-%m-%d %H:%M:%S %Z}; nothing changed"
        )
    return cp


def edit_of(edits: dict, key: str, kind: type):
    """The one value of an "approve with edits" that takes only `key` (a non-empty `kind`); CheckpointError
    saying what was expected otherwise."""
    value = edits.get(key)
    if not isinstance(value, kind) or not value or set(edits) != {key}:
        raise CheckpointError(f"edits: expected {{{key!r}: {kind.__name__}}}, got {sorted(edits)}")
    return value


def decide(
    conn: Conn,
    checkpoint_id: int,
    decision: str,
    reviewer: str,
    notes: str | None = None,
    *,
    edits: dict | None = None,
    artifacts: dict | None = None,
) -> Checkpoint:
    """Record a decision once. `edits`/`artifacts` come from pipelines.review for "approve with edits"."""
    if decision not in DECISIONS:
        raise CheckpointError(f"unknown decision {decision!r}; use one of {', '.join(DECISIONS)}")
    if not reviewer or not reviewer.strip():
        raise CheckpointError("a decision needs a reviewer name")
    if decision in ("changes_requested", "rejected") and not (notes and notes.strip()):
        raise CheckpointError(f"{decision.replace('_', ' ')} needs notes saying why / what to change")
    if edits and decision != "approved":
        raise CheckpointError(
            "edits go with an approval (approve with edits); to have the stage redo its work, "
            "request changes with notes"
        )
    cp = lock_pending(conn, checkpoint_id)
    conn.execute(
        """UPDATE checkpoints SET status = %s, reviewer = %s, notes = %s, decided_at = now(), edits = %s,
                  artifacts = %s WHERE id = %s""",
        (
            decision,
            reviewer.strip(),
            notes,
            Jsonb(edits) if edits else None,
            Jsonb(artifacts if artifacts is not None else cp.artifacts),
            checkpoint_id,
        ),
    )
    conn.execute(
        "INSERT INTO checkpoint_events (checkpoint_id, action, actor, notes, edits) VALUES (%s, %s, %s, %s, %s)",
        (checkpoint_id, decision, reviewer.strip(), notes, Jsonb(edits) if edits else None),
    )
    # a stalled production resumes when its checkpoint is decided
    conn.execute(
        "UPDATE productions SET status = 'running', updated_at = now() WHERE id = %s AND status = 'stalled'",
        (cp.production_id,),
    )
    # wake the trigger waiting on it: PostgreSQL delivers this when the transaction commits, never before,
    # and not at all if it rolls back (the trigger's poll stays the fallback for a notification lost)
    conn.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, str(checkpoint_id)))
    return get(conn, checkpoint_id)


def reopen(conn: Conn, checkpoint_id: int, admin: str) -> Checkpoint:
    """An admin takes a decision back: the checkpoint is pending again (the audit log keeps the decision).
    Only the latest revision of a stage, and only while the production is not published."""
    conn.execute("SELECT id FROM checkpoints WHERE id = %s FOR UPDATE", (checkpoint_id,))
    cp = get(conn, checkpoint_id)
    if cp.status == "pending":
        raise AlreadyDecided(f"checkpoint {checkpoint_id} is already pending; nothing to reopen")
    if cp.production_status == "published":
        raise CheckpointError(
            f"production {cp.production_id} is published; its checkpoints can no longer be reopened"
        )
    last = latest(conn, cp.production_id, cp.stage)
    if last and last.revision != cp.revision:
        raise CheckpointError(
            f"checkpoint {checkpoint_id} is revision {cp.revision}; only the latest revision "
            f"({last.revision}, checkpoint {last.id}) can be reopened"
        )
    from pipelines.artifacts import StageOutput

    original = StageOutput.of(cp).original  # undo "approve with edits"
    artifacts = cp.artifacts if original is None else original
    conn.execute(
        """UPDATE checkpoints SET status = 'pending', reviewer = NULL, notes = NULL, decided_at = NULL,
                           edits = NULL, artifacts = %s WHERE id = %s""",
        (Jsonb(artifacts), checkpoint_id),
    )
    conn.execute(
        "INSERT INTO checkpoint_events (checkpoint_id, action, actor, notes) VALUES (%s, 'reopened', %s, %s)",
        (checkpoint_id, admin, f"was {cp.status} by {cp.reviewer}"),
    )
    conn.execute(
        "UPDATE productions SET status = 'running', updated_at = now() WHERE id = %s AND status <> 'published'",
        (cp.production_id,),
    )
    return get(conn, checkpoint_id)


def events(conn: Conn, checkpoint_id: int) -> list[dict]:
    return conn.execute(
        "SELECT action, actor, notes, edits, at FROM checkpoint_events WHERE checkpoint_id = %s ORDER BY id",
        (checkpoint_id,),
    ).fetchall()
