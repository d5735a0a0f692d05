"""What the Review page and API do, on top of pipelines.review: the caller's role is checked per channel
before anything is read or written, the domain's errors become HTTP errors, and a reopen clears the
production's Airflow tasks so its sensor waits again.

Functions are synchronous (psycopg, httpx): FastAPI runs them in its thread pool. Each opens its own
connection, which commits when the function returns."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from fastapi import HTTPException

from nicheflow_airflow.review_auth import Reviewer, dag_id

if TYPE_CHECKING:
    from pipelines.db import Conn

log = logging.getLogger(__name__)

STATUSES = ("pending", "approved", "changes_requested", "rejected")


class ReviewError(HTTPException):
    """A request that cannot be carried out; `detail` says why (and what to do)."""

    def __init__(self, status_code: int, detail: str):
        super().__init__(status_code=status_code, detail=detail)


@contextmanager
def _db() -> Iterator[Conn]:
    import psycopg

    from nicheflow_airflow.credentials import export_storage_connection
    from pipelines import checkpoints
    from pipelines.db import connect
    from pipelines.storage import StorageConfigError

    export_storage_connection()  # the files a page shows may be in a bucket
    try:
        with connect() as conn:
            yield conn
    except checkpoints.CheckpointNotFound as e:
        raise ReviewError(404, str(e)) from None
    except checkpoints.AlreadyDecided as e:
        raise ReviewError(409, str(e)) from None
    except checkpoints.CheckpointError as e:
        raise ReviewError(400, str(e)) from None
    except StorageConfigError as e:
        log.error("production storage unavailable: %s", e)
        raise ReviewError(503, str(e)) from None
    except psycopg.OperationalError as e:
        log.error("nicheflow database unavailable: %s", e)
        raise ReviewError(503, "the nicheflow database is unavailable; try again in a moment") from None


def _production(conn: Conn, production_id: int) -> dict:
    row = conn.execute(
        "SELECT id, channel, topic, status, dag_run_id FROM productions WHERE id = %s", (production_id,)
    ).fetchone()
    if row is None:
        raise ReviewError(404, f"no production with id {production_id}")
    return row


def checkpoint_dict(cp) -> dict:
    """A pipelines.checkpoints.Checkpoint as the API returns it (a list row plus its edits)."""
    end = cp.decided_at or datetime.now(UTC)
    return {
        "id": cp.id,
        "channel": cp.channel,
        "production_id": cp.production_id,
        "topic": cp.topic,
        "stage": cp.stage,
        "revision": cp.revision,
        "status": cp.status,
        "created_at": cp.created_at,
        "waiting_seconds": (end - cp.created_at).total_seconds(),
        "stalled": cp.status == "pending" and getattr(cp, "production_status", None) == "stalled",
        "reminders": getattr(cp, "reminders", 0),
        "reviewer": cp.reviewer,
        "decided_at": cp.decided_at,
        "notes": cp.notes,
        "edits": getattr(cp, "edits", None),
    }


def list_checkpoints(
    r: Reviewer, channel: str | None = None, stage: str | None = None, status: str | None = "pending"
) -> list[dict]:
    from pipelines import review

    with _db() as conn:
        rows = review.list_checkpoints(conn, channel=channel, stage=stage, status=status)
    return [row for row in rows if r.can_read(row["channel"])]


def channels(r: Reviewer) -> list[str]:
    from pipelines import review

    with _db() as conn:
        return [c for c in review.channels(conn) if r.can_read(c)]


def channel_state(r: Reviewer) -> list[dict]:
    from pipelines import review

    with _db() as conn:
        return [s for s in review.channel_state(conn) if r.can_read(s["channel"])]


def detail(r: Reviewer, checkpoint_id: int) -> dict:
    """pipelines.review.checkpoint_detail plus what this caller may do with it now."""
    from pipelines import checkpoints, review

    with _db() as conn:
        r.require_read(checkpoints.get(conn, checkpoint_id).channel)  # before any file is read
        d = review.checkpoint_detail(conn, checkpoint_id)
    cp, prod = d["checkpoint"], d["production"]
    latest = d["revisions"][-1]["id"] == cp["id"] if d["revisions"] else True
    d["latest"] = latest
    d["permissions"] = {
        "decide": cp["status"] == "pending" and r.can_decide(cp["channel"]),
        "reopen": cp["status"] != "pending"
        and latest
        and prod["status"] != "published"
        and r.can_reopen(cp["channel"]),
    }
    return d


def decide(
    r: Reviewer,
    checkpoint_id: int,
    decision: str,
    notes: str | None = None,
    edits: dict | None = None,
    expected_revision: int | None = None,
) -> dict:
    """Record the caller's decision (the reviewer is always the authenticated user)."""
    from pipelines import checkpoints, review

    with _db() as conn:
        cp = checkpoints.get(conn, checkpoint_id)
        r.require_decide(cp.channel)
        if expected_revision is not None and expected_revision != cp.revision:
            raise ReviewError(
                409,
                f"this form was for revision {expected_revision}, but checkpoint {cp.id} is "
                f"revision {cp.revision}; reload the page",
            )
        decided = review.decide(conn, checkpoint_id, decision, r.name, notes=notes, edits=edits or None)
    log.info(
        "checkpoint %s (%s r%s, channel %s) %s by %s%s",
        decided.id,
        decided.stage,
        decided.revision,
        decided.channel,
        decided.status,
        r.name,
        " with edits" if edits else "",
    )
    return checkpoint_dict(decided)


def reopen(r: Reviewer, checkpoint_id: int) -> dict:
    """Admin only: the checkpoint is pending again, then its Airflow sensor task (and what follows it) is
    cleared so the production waits for a new decision."""
    from pipelines import checkpoints, review

    with _db() as conn:
        cp = checkpoints.get(conn, checkpoint_id)
        r.require_reopen(cp.channel)
        prod = _production(conn, cp.production_id)
        reopened = review.reopen(conn, checkpoint_id, r.name)
    log.info(
        "checkpoint %s (%s r%s, channel %s) reopened by %s", cp.id, cp.stage, cp.revision, cp.channel, r.name
    )
    airflow = clear_review_tasks(r.token, cp.channel, prod["dag_run_id"], cp.stage)
    return {"checkpoint": checkpoint_dict(reopened), "airflow": airflow}


def clear_review_tasks(token: str | None, channel: str, dag_run_id: str, stage: str) -> dict:
    """Clear `review_<stage>` and its downstream tasks through Airflow's REST API, as the caller, and wait
    until the ones that were running have stopped: a decision made before that would leave the run stuck
    behind a stopping task, and Airflow would mark it failed."""
    from nicheflow_airflow.airflow_api import AirflowApiError, clear_task, wait_stopped

    result = {
        "dag_id": dag_id(channel),
        "dag_run_id": dag_run_id,
        "task_ids": [],
        "cleared": False,
        "error": None,
    }
    try:
        result["task_ids"] = clear_task(dag_id(channel), dag_run_id, f"review_{stage}", token=token)
        result["cleared"] = True
        if stopping := wait_stopped(dag_id(channel), dag_run_id, token=token):
            result["error"] = (
                f"the checkpoint is pending again and its run was cleared, but {', '.join(stopping)} had not "
                "stopped after 60 s: decide once the Airflow UI no longer shows them as restarting"
            )
            log.warning("reopened checkpoint of %s run %s: %s", dag_id(channel), dag_run_id, result["error"])
    except AirflowApiError as e:
        log.error(
            "reopened a checkpoint but could not clear review_%s of %s run %s: %s",
            stage,
            dag_id(channel),
            dag_run_id,
            e,
        )
        result["error"] = (
            f"the checkpoint is pending again and its run was cleared, but Airflow could not say whether the "
            f"tasks it interrupted have stopped ({e}): decide once none shows as restarting"
            if result["cleared"]
            else f"the checkpoint is pending again, but clearing review_{stage} in Airflow failed "
            f"({e}); clear it (with downstream) in the Airflow UI so the run waits again"
        )
    return result


def media_path(r: Reviewer, production_id: int, rel_path: str) -> Path:
    parts = PurePosixPath(rel_path).parts
    if not rel_path or rel_path.startswith("/") or "\\" in rel_path or ".." in parts:
        raise ReviewError(400, f"{rel_path!r} is not a path inside the production's workspace")
    from pipelines import review

    with _db() as conn:
        r.require_read(_production(conn, production_id)["channel"])
        return review.media_file(conn, production_id, rel_path)
