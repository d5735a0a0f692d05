"""Checkpoints: approval rows in PostgreSQL. Stages open them; people (CLI, later the UI and API) decide
them; sensors wait for the decision. A decision is written once: deciding a decided row is an error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import psycopg
from psycopg.types.json import Jsonb

STAGES = ("script", "audio", "broll", "final")
Decision = Literal["approved", "changes_requested", "rejected"]
DECISIONS: tuple[str, ...] = ("approved", "changes_requested", "rejected")


class CheckpointError(ValueError):
    pass


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


_SELECT = """SELECT c.id, c.production_id, c.channel, c.stage, c.revision, c.status, c.artifacts, c.reviewer,
                    c.notes, c.created_at, c.decided_at, p.topic
               FROM checkpoints c JOIN productions p ON p.id = c.production_id"""


def open_checkpoint(conn: psycopg.Connection, production_id: int, channel: str, stage: str, revision: int,
                    artifacts: dict) -> Checkpoint:
    """Write the pending row for a stage's revision. Idempotent: a retried stage gets the same row."""
    if stage not in STAGES:
        raise CheckpointError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
    conn.execute(
        """INSERT INTO checkpoints (production_id, channel, stage, revision, artifacts)
           VALUES (%s, %s, %s, %s, %s) ON CONFLICT (production_id, stage, revision) DO NOTHING""",
        (production_id, channel, stage, revision, Jsonb(artifacts)),
    )
    return latest(conn, production_id, stage)


def get(conn: psycopg.Connection, checkpoint_id: int) -> Checkpoint:
    row = conn.execute(_SELECT + " WHERE c.id = %s", (checkpoint_id,)).fetchone()
    if not row:
        raise CheckpointError(f"no checkpoint with id {checkpoint_id}; `nicheflow pending` lists open ones")
    return Checkpoint(**row)


def latest(conn: psycopg.Connection, production_id: int, stage: str) -> Checkpoint | None:
    row = conn.execute(_SELECT + " WHERE c.production_id = %s AND c.stage = %s ORDER BY c.revision DESC LIMIT 1",
                       (production_id, stage)).fetchone()
    return Checkpoint(**row) if row else None


def approved(conn: psycopg.Connection, production_id: int, stage: str) -> Checkpoint:
    """The approved revision of a stage: what later stages build on."""
    cp = latest(conn, production_id, stage)
    if cp is None or cp.status != "approved":
        raise CheckpointError(f"production {production_id}: stage {stage} has no approved revision")
    return cp


def pending(conn: psycopg.Connection, channel: str | None = None) -> list[Checkpoint]:
    where = " WHERE c.status = 'pending'" + (" AND c.channel = %s" if channel else "")
    rows = conn.execute(_SELECT + where + " ORDER BY c.created_at", (channel,) if channel else ()).fetchall()
    return [Checkpoint(**r) for r in rows]


def history(conn: psycopg.Connection, production_id: int) -> list[Checkpoint]:
    rows = conn.execute(_SELECT + " WHERE c.production_id = %s ORDER BY c.id", (production_id,)).fetchall()
    return [Checkpoint(**r) for r in rows]


def decide(conn: psycopg.Connection, checkpoint_id: int, decision: str, reviewer: str,
           notes: str | None = None) -> Checkpoint:
    if decision not in DECISIONS:
        raise CheckpointError(f"unknown decision {decision!r}; use one of {', '.join(DECISIONS)}")
    if not reviewer or not reviewer.strip():
        raise CheckpointError("a decision needs a reviewer name")
    if decision in ("changes_requested", "rejected") and not (notes and notes.strip()):
        raise CheckpointError(f"{decision.replace('_', ' ')} needs notes saying why / what to change")
    row = conn.execute(
        """UPDATE checkpoints SET status = %s, reviewer = %s, notes = %s, decided_at = now()
            WHERE id = %s AND status = 'pending' RETURNING id""",
        (decision, reviewer.strip(), notes, checkpoint_id),
    ).fetchone()
    if row is None:
        cp = get(conn, checkpoint_id)  # raises if it does not exist
        raise CheckpointError(f"checkpoint {checkpoint_id} was already decided: {cp.status} by {cp.reviewer} "
                              f"at {cp.decided_at:%Y-%m-%d %H:%M:%S %Z}; nothing changed")
    return get(conn, checkpoint_id)
