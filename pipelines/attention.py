"""Needs attention: a task that failed after its retries marks its production (table `attention`) with the
stage, the kind of error, its message and what to do, in words; and raises the matching alert. The mark is
cleared when the task is retried and succeeds, or the production is rejected (or someone clears it by hand).

Kinds of error (`categorize`):
- transient: worth retrying, and the retries were spent (a service down, timeouts, a bug): the provider or
  the network has to come back; then retry the stage.
- permanent: retrying cannot help until a person changes something (a key, the config, the topic, a token).
- data_quality: the content is the problem (no facts on the topic, silent audio, a broken source document,
  a script the LLM could not write in shape): add a source, change the topic, or reject the production.

The Review page lists `listing(conn)`; its retry button calls `request_retry` and then clears the task
through Airflow's REST API (nicheflow_airflow.airflow_api.clear_task); reject calls `reject`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pipelines import clock
from pipelines.alert_config import Level
from pipelines.alerts import Alert, raise_alert
from pipelines.db import Conn, one
from pipelines.errors import NicheflowError, is_permanent

log = logging.getLogger(__name__)

Category = Literal["transient", "permanent", "data_quality"]
# errors whose cause is the content rather than a service or a setting (by class name, so this module needs
# none of the modules that define them)
DATA_QUALITY = {"NoFacts", "SilentAudio", "SourceError", "LLMOutputError", "BacklogEmpty"}


def _chain(exc: BaseException | None) -> list[BaseException]:
    out: list[BaseException] = []
    while exc is not None and exc not in out:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out


def _names(exc: BaseException | None) -> set[str]:
    return {cls.__name__ for e in _chain(exc) for cls in type(e).__mro__}


def root_message(exc: BaseException | None) -> str:
    """The message that says what happened: the project's own error in the chain, else the first one."""
    chain = _chain(exc)
    own = next((e for e in chain if isinstance(e, NicheflowError)), None)
    e = own or (chain[-1] if chain else None)
    if e is None:
        return "the task failed without an exception (killed, timed out, or marked failed)"
    text = str(e).removesuffix(" [not retried: retrying cannot help]").strip()
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def categorize(exc: BaseException | None) -> Category:
    """transient, permanent or data_quality (see the module doc)."""
    if _names(exc) & DATA_QUALITY:
        return "data_quality"
    if exc is not None and (is_permanent(exc) or any(is_permanent(e) for e in _chain(exc))):
        return "permanent"
    return "transient"


def advice(category: Category, task_id: str, channel: str, exc: BaseException | None, tries: int) -> str:
    """What to do, in words, for a failure of `task_id`."""
    names = _names(exc)
    if "TokenRevoked" in names:
        return (
            f"YouTube refused the channel's token (revoked or expired): run `nicheflow youtube connect {channel}`, "
            f"then retry {task_id}. Uploads of this channel stay stopped until then."
        )
    if "AirflowSensorTimeout" in names or "AirflowTaskTimeout" in names:
        return f"{task_id} ran out of time. Look at its log for where it hung, then retry it (or reject the production)."
    if category == "transient":
        return (
            f"{task_id} failed {tries} time{'s' if tries != 1 else ''}: a service it needs is down or the "
            "network failed (or a bug). Check the provider's status and the task log; retry the stage when it "
            "is back, or reject the production."
        )
    if category == "data_quality":
        return (
            "The content is the problem, not a service: add or fix a source document, choose another topic, or "
            f"reject the production; then retry {task_id}."
        )
    return f"Retrying cannot help until the cause is fixed: do what the message says, then retry {task_id}."


@dataclass(frozen=True)
class Attention:
    """One open (or cleared) needs-attention mark."""

    id: int
    channel: str
    production_id: int | None
    topic: str | None
    dag_id: str
    dag_run_id: str
    task_id: str
    stage: str
    category: Category
    error: str
    advice: str
    tries: int
    failed_at: datetime
    retry_requested_at: datetime | None = None
    retry_requested_by: str | None = None
    cleared_at: datetime | None = None
    cleared_because: str | None = None


_SELECT = """SELECT a.id, a.channel, a.production_id, p.topic, a.dag_id, a.dag_run_id, a.task_id, a.stage,
                    a.category, a.error, a.advice, a.tries, a.failed_at, a.retry_requested_at,
                    a.retry_requested_by, a.cleared_at, a.cleared_because
               FROM attention a LEFT JOIN productions p ON p.id = a.production_id"""


def _of(row: dict) -> Attention:
    return Attention(**row)


def stage_of(task_id: str) -> str:
    """The stage a task belongs to: a checkpoint sensor `review_<stage>` belongs to its stage."""
    return task_id.removeprefix("review_")


def failure_alert(
    channel: str,
    task_id: str,
    category: Category,
    error: str,
    hint: str,
    names: set[str],
    production_id: int | None,
    tries: int,
) -> Alert:
    """The alert a failed task raises: critical for a token revoked, a failed upload and a service down after
    its retries; warning for the rest (it waits in the needs-attention list)."""
    level: Level
    if "TokenRevoked" in names:
        level, key, title = "critical", "token_revoked", "YouTube token revoked: uploads stopped"
    elif task_id == "publish" or "UploadFailed" in names:
        level, key, title = "critical", f"upload_failed:{task_id}", f"upload failed ({task_id})"
    elif category == "transient":
        level, key, title = (
            "critical",
            f"provider_down:{task_id}",
            f"{task_id} failed after {tries} tries: {error[:120]}",
        )
    else:
        level, key, title = (
            "warning",
            f"needs_attention:{task_id}:{category}",
            f"{task_id} needs attention ({category})",
        )
    return Alert(level, key, title, f"{error}\n\nWhat to do: {hint}", channel, production_id)


def mark_failed(
    conn: Conn,
    *,
    channel: str,
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    exc: BaseException | None,
    tries: int,
    production_id: int | None = None,
    now: datetime | None = None,
) -> tuple[Attention, int]:
    """A task failed after its retries: mark its production needs attention and raise the alert. Returns
    the mark and the alert's row id. A second failure of the same task in the same run updates the mark."""
    now = now or clock.now()
    if production_id is None:
        found = conn.execute(
            "SELECT id FROM productions WHERE channel = %s AND dag_run_id = %s", (channel, dag_run_id)
        ).fetchone()
        production_id = found["id"] if found else None
    category = categorize(exc)
    error = root_message(exc)[:4000]
    hint = advice(category, task_id, channel, exc, tries)
    row = one(
        conn.execute(
            """INSERT INTO attention (channel, production_id, dag_id, dag_run_id, task_id, stage, category,
                                      error, advice, tries, failed_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (dag_id, dag_run_id, task_id) WHERE cleared_at IS NULL DO UPDATE
                  SET category = EXCLUDED.category, error = EXCLUDED.error, advice = EXCLUDED.advice,
                      tries = attention.tries + EXCLUDED.tries, failed_at = EXCLUDED.failed_at,
                      retry_requested_at = NULL, retry_requested_by = NULL
               RETURNING id""",
            (
                channel,
                production_id,
                dag_id,
                dag_run_id,
                task_id,
                stage_of(task_id),
                category,
                error,
                hint,
                tries,
                now,
            ),
        )
    )
    conn.commit()
    log.warning("%s of %s run %s needs attention (%s): %s", task_id, dag_id, dag_run_id, category, error)
    alert = failure_alert(channel, task_id, category, error, hint, _names(exc), production_id, tries)
    return get(conn, row["id"]), raise_alert(conn, alert, now=now)


def get(conn: Conn, attention_id: int) -> Attention:
    row = conn.execute(_SELECT + " WHERE a.id = %s", (attention_id,)).fetchone()
    if row is None:
        raise LookupError(f"no needs-attention mark {attention_id}")
    return _of(row)


def listing(conn: Conn, channel: str | None = None) -> list[Attention]:
    """The open marks, oldest first (on a connection not entered into a channel: every channel's)."""
    where = " WHERE a.cleared_at IS NULL" + (" AND a.channel = %s" if channel else "")
    rows = conn.execute(
        _SELECT + where + " ORDER BY a.failed_at, a.id", (channel,) if channel else ()
    ).fetchall()
    return [_of(r) for r in rows]


def task_succeeded(conn: Conn, dag_id: str, dag_run_id: str, task_id: str) -> int:
    """The task ran and succeeded: its mark (if any) is cleared. Returns how many were."""
    cur = conn.execute(
        """UPDATE attention SET cleared_at = now(), cleared_because = 'succeeded'
            WHERE dag_id = %s AND dag_run_id = %s AND task_id = %s AND cleared_at IS NULL""",
        (dag_id, dag_run_id, task_id),
    )
    conn.commit()
    return cur.rowcount


def request_retry(conn: Conn, attention_id: int, by: str) -> Attention:
    """Record that `by` asked for the stage to run again; the caller then clears the task in Airflow
    (nicheflow_airflow.airflow_api.clear_task with the mark's dag_id, dag_run_id and task_id). The mark stays
    open until the task succeeds."""
    a = get(conn, attention_id)
    if a.cleared_at is not None:
        raise LookupError(f"needs-attention mark {attention_id} was cleared already ({a.cleared_because})")
    conn.execute(
        "UPDATE attention SET retry_requested_at = now(), retry_requested_by = %s WHERE id = %s",
        (by, attention_id),
    )
    conn.commit()
    return get(conn, attention_id)


def clear(conn: Conn, attention_id: int, by: str) -> Attention:
    """Clear a mark by hand (the problem was dealt with outside nicheflow)."""
    conn.execute(
        """UPDATE attention SET cleared_at = now(), cleared_because = 'cleared', cleared_by = %s
            WHERE id = %s AND cleared_at IS NULL""",
        (by, attention_id),
    )
    conn.commit()
    return get(conn, attention_id)


def reject(conn: Conn, attention_id: int, by: str, reason: str) -> Attention:
    """Give up on the production: it is marked rejected (nothing of it is published; its files stay) and
    every open mark of it is cleared."""
    if not reason.strip():
        raise ValueError("a reason is required to reject a production")
    a = get(conn, attention_id)
    if a.production_id is not None:
        conn.execute(
            "UPDATE productions SET status = 'rejected', updated_at = now() WHERE id = %s AND status <> 'published'",
            (a.production_id,),
        )
    conn.execute(
        """UPDATE attention SET cleared_at = now(), cleared_because = 'rejected', cleared_by = %s
            WHERE cleared_at IS NULL AND (id = %s OR (production_id IS NOT NULL AND production_id = %s))""",
        (f"{by}: {reason.strip()}"[:500], attention_id, a.production_id),
    )
    conn.commit()
    log.info("production %s rejected from needs attention by %s: %s", a.production_id, by, reason)
    return get(conn, attention_id)
