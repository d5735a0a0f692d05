"""What the ops DAG looks for every few minutes, across channels (on a connection that has not entered one),
raising alerts through pipelines.alerts. Each check is idempotent: what was told once (a stalled checkpoint,
a checkpoint's quality flags, a slow render) is a `once` alert keyed on it, so running again tells nothing new.

- stalled checkpoints (warning): the trigger marks a production `stalled` past `checkpoints.timeout_hours`;
- quality flags (warning): Whisper's flagged segments on an audio checkpoint, grounding flags on a script;
- slow renders (warning): a render whose cost per second of video (render.json `render_seconds` / duration)
  is at least SLOW_FACTOR times the median of the channel's previous renders (at least MIN_HISTORY of them);
- a paused channel DAG (critical): Airflow pauses a channel's DAG after 3 failed runs in a row
  (max_consecutive_failed_dag_runs); told when the ops DAG first sees it paused."""

from __future__ import annotations

import json
import logging
import statistics
from datetime import datetime, timedelta
from pathlib import Path

from pipelines.alerts import Alert, raise_alert
from pipelines.db import Conn

log = logging.getLogger(__name__)

SLOW_FACTOR = 2.0  # "much slower": twice the channel's usual render seconds per second of video, or more
MIN_HISTORY = 3  # renders of the channel needed before one is called slow
HISTORY = 20  # previous renders the median is taken over
LOOK_BACK = timedelta(days=2)  # checkpoints younger than this are checked


def stalled(conn: Conn, now: datetime) -> list[int]:
    """One warning per stalled wait (production and checkpoint); returns the alert ids."""
    rows = conn.execute(
        """SELECT p.id, p.channel, p.topic, c.id AS checkpoint_id, c.stage, c.revision, c.created_at
             FROM productions p JOIN checkpoints c ON c.production_id = p.id AND c.status = 'pending'
            WHERE p.status = 'stalled' ORDER BY c.created_at"""
    ).fetchall()
    out = []
    for r in rows:
        hours = (now - r["created_at"]).total_seconds() / 3600
        out.append(
            raise_alert(
                conn,
                Alert(
                    "warning",
                    f"stalled:{r['checkpoint_id']}",
                    f"{r['stage']} checkpoint stalled for {hours:.0f} h: {r['topic']}",
                    f"Checkpoint {r['checkpoint_id']} ({r['stage']} r{r['revision']}) has waited for a decision "
                    f"since {r['created_at']:%Y-%m-%d %H:%M %Z}. Nothing is lost: decide it on the Review page "
                    f"(or `nicheflow approve {r['checkpoint_id']}` / `nicheflow reject {r['checkpoint_id']}`) and "
                    "the production resumes.",
                    r["channel"],
                    r["id"],
                    once=True,
                ),
                now=now,
            )
        )
    return out


def _recent_checkpoints(conn: Conn, stage: str, now: datetime) -> list[dict]:
    return conn.execute(
        """SELECT c.id, c.channel, c.production_id, c.revision, c.artifacts, c.created_at, p.topic, p.workspace
             FROM checkpoints c JOIN productions p ON p.id = c.production_id
            WHERE c.stage = %s AND c.created_at >= %s ORDER BY c.created_at""",
        (stage, now - LOOK_BACK),
    ).fetchall()


def quality(conn: Conn, now: datetime) -> list[int]:
    """A warning per recent script with grounding flags and per recent narration with Whisper-flagged
    segments; returns the alert ids."""
    out = []
    for r in _recent_checkpoints(conn, "script", now):
        if n := int(r["artifacts"].get("grounding_flags") or 0):
            out.append(
                raise_alert(
                    conn,
                    Alert(
                        "warning",
                        f"grounding:{r['id']}",
                        f"script r{r['revision']}: {n} sentence{'s' if n > 1 else ''} the cited facts may not support",
                        f"The grounding check flagged {n} sentence{'s' if n > 1 else ''} of the script for "
                        f'"{r["topic"]}" (checkpoint {r["id"]}). Read them on the Review page before approving.',
                        r["channel"],
                        r["production_id"],
                        once=True,
                    ),
                    now=now,
                )
            )
    for r in _recent_checkpoints(conn, "audio", now):
        qa = r["artifacts"].get("qa") or {}
        flagged = [s for s in qa.get("segments") or [] if s.get("flagged")]
        if flagged:
            lines = "\n".join(
                f'- segment {s["segment"] + 1}: WER {s["wer"]:.2f}; heard "{str(s.get("heard", ""))[:120]}"'
                for s in flagged[:10]
            )
            out.append(
                raise_alert(
                    conn,
                    Alert(
                        "warning",
                        f"audio_qa:{r['id']}",
                        f"narration r{r['revision']}: Whisper flagged {len(flagged)} segment(s)",
                        f"Audio QA ({qa.get('model')}, limit WER {qa.get('max_wer')}) heard something other than "
                        f'the script in the narration of "{r["topic"]}" (checkpoint {r["id"]}):\n{lines}',
                        r["channel"],
                        r["production_id"],
                        once=True,
                    ),
                    now=now,
                )
            )
    return out


def _cost_per_second(workspace: str, artifacts: dict) -> float | None:
    """Render seconds per second of video, from the checkpoint's render.json (None: not measured)."""
    try:
        render = json.loads((Path(workspace) / artifacts["render"]).read_text())
    except (KeyError, OSError, ValueError):
        return None
    seconds, duration = render.get("render_seconds"), render.get("duration")
    return seconds / duration if seconds and duration else None


def slow_renders(conn: Conn, now: datetime) -> list[int]:
    """A warning per recent render much slower than the channel's usual; returns the alert ids."""
    out = []
    for r in _recent_checkpoints(conn, "final", now):
        cost = _cost_per_second(r["workspace"], r["artifacts"])
        if cost is None:
            continue
        earlier = conn.execute(
            """SELECT c.artifacts, p.workspace FROM checkpoints c JOIN productions p ON p.id = c.production_id
                WHERE c.channel = %s AND c.stage = 'final' AND c.created_at < %s
                ORDER BY c.created_at DESC LIMIT %s""",
            (r["channel"], r["created_at"], HISTORY),
        ).fetchall()
        history = [c for e in earlier if (c := _cost_per_second(e["workspace"], e["artifacts"])) is not None]
        if len(history) < MIN_HISTORY:
            continue
        usual = statistics.median(history)
        if cost >= SLOW_FACTOR * usual:
            out.append(
                raise_alert(
                    conn,
                    Alert(
                        "warning",
                        f"slow_render:{r['id']}",
                        f"render {cost / usual:.1f}x slower than usual: {r['topic']}",
                        f"The render of checkpoint {r['id']} took {cost:.2f} s per second of video; the channel's "
                        f"median over its last {len(history)} renders is {usual:.2f} s (alert at {SLOW_FACTOR:g}x). "
                        "Look for a busy machine (other renders, other engineers' jobs) or an unusual input "
                        "(long clips, an intro) in the task log.",
                        r["channel"],
                        r["production_id"],
                        once=True,
                    ),
                    now=now,
                )
            )
    return out


def paused(conn: Conn, channel: str, dag_id: str, is_paused: bool, now: datetime) -> int | None:
    """Record whether `dag_id` is paused; when it was not (or never seen) and is now, raise the critical
    alert and return its id."""
    before = conn.execute("SELECT paused FROM channel_watch WHERE dag_id = %s", (dag_id,)).fetchone()
    conn.execute(
        """INSERT INTO channel_watch (channel, dag_id, paused, checked_at) VALUES (%s, %s, %s, %s)
           ON CONFLICT (dag_id) DO UPDATE SET paused = EXCLUDED.paused, checked_at = EXCLUDED.checked_at""",
        (channel, dag_id, is_paused, now),
    )
    conn.commit()
    if not is_paused or (before is not None and before["paused"]):
        return None
    open_marks = conn.execute(
        "SELECT count(*) AS n FROM attention WHERE channel = %s AND cleared_at IS NULL", (channel,)
    ).fetchone()
    n = open_marks["n"] if open_marks else 0
    return raise_alert(
        conn,
        Alert(
            "critical",
            f"paused:{dag_id}",
            f"{dag_id} is paused: no production runs on this channel",
            f"Airflow pauses a channel's DAG after 3 failed runs in a row (max_consecutive_failed_dag_runs), or a "
            f"person paused it. {n} failure{'s' if n != 1 else ''} of this channel wait{'s' if n == 1 else ''} in "
            f"the needs-attention list. Fix the cause, then unpause {dag_id} in the Airflow UI "
            f"(`airflow dags unpause {dag_id}`).",
            channel,
        ),
        now=now,
    )
