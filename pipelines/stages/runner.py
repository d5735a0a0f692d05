"""Runs the stages as the DAG's tasks call them: each opens its own connection, entered into the channel
it works for (PostgreSQL then shows it no other channel's rows), takes and returns small JSON-able values
(ids, relative paths), and is safe to retry (nothing done twice).

A stage with a checkpoint has `produce(conn, p, revision, notes) -> artifacts` (a typed record of
pipelines.artifacts, stored as the checkpoint's JSON artifacts); `run_stage` makes a
revision of it and opens its checkpoint, and `after_decision` says what a decision means. Any other stage
has `run(production_id) -> result`."""

from __future__ import annotations

import logging

from pipelines import checkpoints, logfields, production
from pipelines.db import connect
from pipelines.production import production_db
from pipelines.stages import registry

log = logging.getLogger(__name__)


def run(task_id: str, production_id: int):
    """The task `task_id` of a production: a checkpoint id for a reviewed stage, else the stage's result."""
    logfields.bind(stage=task_id)
    stage = registry.get(task_id)
    if stage.checkpoint:
        return run_stage(task_id, production_id)
    return stage.module.run(production_id)


def run_stage(stage: str, production_id: int, revision: int = 1, notes: str | None = None) -> int:
    """Produce a revision of a reviewed stage and open its checkpoint. Returns the checkpoint id."""
    module = registry.get(stage).module
    with production_db(production_id) as (conn, p):
        existing = checkpoints.latest(conn, p.id, stage)
        if existing and existing.revision >= revision:  # a retried task: the revision already exists
            return existing.id
        artifacts = module.produce(conn, p, revision, notes)  # a pipelines.artifacts.StageOutput
        if notes:
            from pipelines.notes import read

            artifacts.addresses_notes = notes
            artifacts.notes_understood = list(read(notes).understood)
        cp = checkpoints.open_checkpoint(conn, p.id, p.channel, stage, revision, artifacts.dump())
    log.info(
        "checkpoint %s open: production %s, %s revision %s — approve with `nicheflow approve %s`",
        cp.id,
        production_id,
        stage,
        revision,
        cp.id,
    )
    return cp.id


def after_decision(checkpoint_id: int) -> tuple[str, int]:
    """What a decided checkpoint means for the production: ("approved", id), ("rejected", id) or
    ("waiting", new checkpoint id) when changes were requested and a new revision is now open."""
    with connect() as conn:
        cp = checkpoints.get(conn, checkpoint_id)
        if cp.status == "rejected":
            production.set_status(conn, cp.production_id, "rejected")
            log.info(
                "production %s rejected at %s by %s: %s", cp.production_id, cp.stage, cp.reviewer, cp.notes
            )
            return "rejected", cp.id
    if cp.status == "approved":
        return "approved", cp.id
    if cp.status == "changes_requested":
        return "waiting", run_stage(cp.stage, cp.production_id, cp.revision + 1, cp.notes)
    raise checkpoints.CheckpointError(f"checkpoint {cp.id} is still {cp.status}")
